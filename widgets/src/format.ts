/**
 * Every unit and number format the front-end shows, in one place. Pure
 * functions: a value in, a string out. A missing value (null, undefined,
 * NaN) reads as an em dash.
 */

export const MISSING = '—';

function missing(value: number | null | undefined): value is null | undefined {
  return value === null || value === undefined || Number.isNaN(value);
}

/** Digits grouped by thousands with commas, whatever the browser's locale. */
function group(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** An integer count with thousands separators: 1234567 -> "1,234,567". */
export function formatCount(value: number | null | undefined): string {
  if (missing(value)) {
    return MISSING;
  }
  const rounded = Math.round(value);
  return (rounded < 0 ? '-' : '') + group(String(Math.abs(rounded)));
}

/** A count with its noun, plural when it is not one: (3, "worker") -> "3 workers". */
export function formatCountOf(
  value: number | null | undefined,
  noun: string,
  pluralNoun = `${noun}s`
): string {
  return `${formatCount(value)} ${value === 1 ? noun : pluralNoun}`;
}

/**
 * A number with about `significant` significant digits and thousands
 * separators, without an exponent: 0.123456 -> "0.1235", 12345.6 -> "12,346".
 */
export function formatNumber(
  value: number | null | undefined,
  significant = 4
): string {
  if (missing(value)) {
    return MISSING;
  }
  if (!Number.isFinite(value)) {
    return value > 0 ? '∞' : '-∞';
  }
  if (value === 0) {
    return '0';
  }
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, Math.min(12, significant - 1 - magnitude));
  const fixed = Math.abs(value).toFixed(decimals);
  const [whole, fraction] = fixed.split('.');
  const trimmed = fraction ? fraction.replace(/0+$/, '') : '';
  return (
    (value < 0 ? '-' : '') + group(whole) + (trimmed ? '.' + trimmed : '')
  );
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** Bytes in binary units: 1536 -> "1.5 KiB", 3e9 -> "2.8 GiB". */
export function formatBytes(value: number | null | undefined): string {
  if (missing(value)) {
    return MISSING;
  }
  let scaled = Math.abs(value);
  let unit = 0;
  while (scaled >= 1024 && unit < BYTE_UNITS.length - 1) {
    scaled /= 1024;
    unit += 1;
  }
  const sign = value < 0 ? '-' : '';
  if (unit === 0) {
    return `${sign}${Math.round(scaled)} B`;
  }
  const text = scaled < 10 ? scaled.toFixed(1) : String(Math.round(scaled));
  return `${sign}${text} ${BYTE_UNITS[unit]}`;
}

/** "used / total" in the total's unit: (1.2e9, 8.6e9) -> "1.1 / 8.0 GiB". */
export function formatBytesOf(
  used: number | null | undefined,
  total: number | null | undefined
): string {
  if (missing(used) || missing(total)) {
    return `${formatBytes(used)} / ${formatBytes(total)}`;
  }
  let unit = 0;
  let divisor = 1;
  while (total / divisor >= 1024 && unit < BYTE_UNITS.length - 1) {
    divisor *= 1024;
    unit += 1;
  }
  const digits = unit === 0 ? 0 : 1;
  return `${(used / divisor).toFixed(digits)} / ${(total / divisor).toFixed(
    digits
  )} ${BYTE_UNITS[unit]}`;
}

/**
 * A percentage given in percent (0-100): 3.14 -> "3.1%", 42.7 -> "43%".
 * Below 10 one decimal shows; above, whole percents.
 */
export function formatPercent(value: number | null | undefined): string {
  if (missing(value)) {
    return MISSING;
  }
  const abs = Math.abs(value);
  const text = abs > 0 && abs < 10 ? value.toFixed(1) : String(Math.round(value));
  return `${text}%`;
}

/** A fraction (0-1) as a percentage: 0.031 -> "3.1%". */
export function formatFraction(value: number | null | undefined): string {
  return missing(value) ? MISSING : formatPercent(value * 100);
}

/** A rate per second: (1234.5, "samples") -> "1,235 samples/s". */
export function formatRate(
  value: number | null | undefined,
  unit = ''
): string {
  if (missing(value)) {
    return MISSING;
  }
  const text =
    Math.abs(value) >= 1000 ? formatCount(value) : formatNumber(value, 3);
  return unit ? `${text} ${unit}/s` : `${text}/s`;
}

/**
 * A duration in seconds, to two units at most: 42 -> "42 s", 125 -> "2 min 5 s",
 * 7260 -> "2 h 1 min", 200000 -> "2 d 7 h". Under 10 s one decimal shows.
 */
export function formatDuration(seconds: number | null | undefined): string {
  if (missing(seconds)) {
    return MISSING;
  }
  if (seconds < 0) {
    return '-' + formatDuration(-seconds);
  }
  if (seconds < 10) {
    return `${Number(seconds.toFixed(1))} s`;
  }
  const total = Math.round(seconds);
  const units: [number, string][] = [
    [86400, 'd'],
    [3600, 'h'],
    [60, 'min'],
    [1, 's']
  ];
  const first = units.findIndex(([size]) => total >= size);
  const [size, name] = units[first];
  const whole = Math.floor(total / size);
  const rest = total - whole * size;
  if (first === units.length - 1) {
    return `${whole} ${name}`;
  }
  const [nextSize, nextName] = units[first + 1];
  const next = Math.floor(rest / nextSize);
  return next > 0 ? `${whole} ${name} ${next} ${nextName}` : `${whole} ${name}`;
}

/** How long ago `since` was, both in seconds since the epoch: "5 min ago". */
export function formatAge(
  since: number | null | undefined,
  now: number
): string {
  if (missing(since)) {
    return MISSING;
  }
  const elapsed = Math.max(0, now - since);
  return elapsed < 1 ? 'just now' : `${formatDuration(elapsed)} ago`;
}

/** A moment (seconds since the epoch) in local time: "2026-12-05 14:33:07". */
export function formatTimestamp(seconds: number | null | undefined): string {
  if (missing(seconds)) {
    return MISSING;
  }
  const d = new Date(seconds * 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`
  );
}

/**
 * A data cell as text: integers as they are (a year or an id must not grow a
 * separator), other numbers to 6 significant digits, null empty, objects as JSON.
 */
export function formatCell(value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
  }
  if (typeof value === 'string') {
    return value;
  }
  if (typeof value === 'boolean') {
    return value ? 'true' : 'false';
  }
  return JSON.stringify(value);
}
