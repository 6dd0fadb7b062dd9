import {
  MISSING,
  formatAge,
  formatBytes,
  formatBytesOf,
  formatCell,
  formatCount,
  formatCountOf,
  formatDuration,
  formatFraction,
  formatNumber,
  formatPercent,
  formatRate,
  formatTimestamp
} from '../format';

describe('formatCount', () => {
  it('groups thousands with commas', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1000)).toBe('1,000');
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatCount(-9876543)).toBe('-9,876,543');
  });
  it('rounds to an integer', () => {
    expect(formatCount(1234.6)).toBe('1,235');
  });
  it('shows a dash for a missing value', () => {
    expect(formatCount(null)).toBe(MISSING);
    expect(formatCount(undefined)).toBe(MISSING);
    expect(formatCount(NaN)).toBe(MISSING);
  });
  it('puts the noun in the plural unless the count is one', () => {
    expect(formatCountOf(1, 'worker')).toBe('1 worker');
    expect(formatCountOf(0, 'worker')).toBe('0 workers');
    expect(formatCountOf(2500, 'row')).toBe('2,500 rows');
    expect(formatCountOf(2, 'GPU')).toBe('2 GPUs');
  });
});

describe('formatNumber', () => {
  it('keeps about four significant digits', () => {
    expect(formatNumber(0.123456)).toBe('0.1235');
    expect(formatNumber(1.5)).toBe('1.5');
    expect(formatNumber(12345.6)).toBe('12,346');
    expect(formatNumber(0.000012346)).toBe('0.00001235');
    expect(formatNumber(-2.71828)).toBe('-2.718');
    expect(formatNumber(0)).toBe('0');
  });
  it('handles infinities and missing values', () => {
    expect(formatNumber(Infinity)).toBe('∞');
    expect(formatNumber(-Infinity)).toBe('-∞');
    expect(formatNumber(null)).toBe(MISSING);
  });
});

describe('formatBytes', () => {
  it('uses binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(10 * 1024 * 1024)).toBe('10 MiB');
    expect(formatBytes(3e9)).toBe('2.8 GiB');
    expect(formatBytes(2 ** 50)).toBe('1.0 PiB');
  });
  it('shows used / total in the total unit', () => {
    expect(formatBytesOf(1.2e9, 8 * 2 ** 30)).toBe('1.1 / 8.0 GiB');
    expect(formatBytesOf(100, 900)).toBe('100 / 900 B');
    expect(formatBytesOf(null, 900)).toBe(`${MISSING} / 900 B`);
  });
  it('shows a dash for a missing value', () => {
    expect(formatBytes(null)).toBe(MISSING);
  });
});

describe('formatPercent and formatFraction', () => {
  it('shows one decimal below ten percent, whole percents above', () => {
    expect(formatPercent(3.14159)).toBe('3.1%');
    expect(formatPercent(42.7)).toBe('43%');
    expect(formatPercent(0)).toBe('0%');
    expect(formatPercent(100)).toBe('100%');
  });
  it('reads a fraction as a percentage', () => {
    expect(formatFraction(0.031)).toBe('3.1%');
    expect(formatFraction(0.5)).toBe('50%');
    expect(formatFraction(null)).toBe(MISSING);
  });
});

describe('formatRate', () => {
  it('adds the unit per second', () => {
    expect(formatRate(1234.5, 'samples')).toBe('1,235 samples/s');
    expect(formatRate(12.345, 'samples')).toBe('12.3 samples/s');
    expect(formatRate(0.5)).toBe('0.5/s');
    expect(formatRate(null, 'samples')).toBe(MISSING);
  });
});

describe('formatDuration and formatAge', () => {
  it('uses at most two units', () => {
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(3.25)).toBe('3.3 s');
    expect(formatDuration(42)).toBe('42 s');
    expect(formatDuration(125)).toBe('2 min 5 s');
    expect(formatDuration(120)).toBe('2 min');
    expect(formatDuration(7260)).toBe('2 h 1 min');
    expect(formatDuration(200000)).toBe('2 d 7 h');
    expect(formatDuration(null)).toBe(MISSING);
  });
  it('says how long ago, never in the future', () => {
    expect(formatAge(1000, 1300)).toBe('5 min ago');
    expect(formatAge(1000, 1000.5)).toBe('just now');
    expect(formatAge(1010, 1000)).toBe('just now');
    expect(formatAge(null, 1000)).toBe(MISSING);
  });
});

describe('formatTimestamp', () => {
  const tz = process.env.TZ;
  beforeAll(() => {
    process.env.TZ = 'UTC';
  });
  afterAll(() => {
    process.env.TZ = tz;
  });
  it('shows local date and time to the second', () => {
    expect(formatTimestamp(0)).toBe('1970-01-01 00:00:00');
    expect(formatTimestamp(1796484787.5)).toBe('2026-12-05 15:33:07');
    expect(formatTimestamp(null)).toBe(MISSING);
  });
});

describe('formatCell', () => {
  it('keeps integers as they are and trims floats', () => {
    expect(formatCell(2007)).toBe('2007');
    expect(formatCell(0.1 + 0.2)).toBe('0.3');
    expect(formatCell('Asia')).toBe('Asia');
    expect(formatCell(null)).toBe('');
    expect(formatCell(true)).toBe('true');
    expect(formatCell({ a: [1, 2] })).toBe('{"a":[1,2]}');
  });
});
