/**
 * The state of one polled listing, as pure functions: what the last answer
 * was, the last error, and how long to wait before asking again (the
 * settings' interval after a success, doubling per consecutive failure up to
 * a ceiling). The lumino `Poll`s of the sidebar and the status bar hold one
 * of these each and never reject, so a failing request never reaches the
 * console; they set their next interval from `state.interval`.
 */

/** The longest wait between two requests, in milliseconds. */
export const MAX_INTERVAL_MS = 60_000;

/** The shortest refresh interval the settings accept, in seconds. */
export const MIN_REFRESH_S = 0.5;

/** The default refresh interval, in seconds (the settings' default). */
export const DEFAULT_REFRESH_S = 2;

export interface IPollState<T> {
  /** The last good answer, kept through failures (null before the first). */
  readonly data: T | null;
  /** The last failure's message; null after a success. */
  readonly error: string | null;
  /** Consecutive failures. */
  readonly failures: number;
  /** Milliseconds until the next request. */
  readonly interval: number;
}

/** The wait after `failures` consecutive failures: base, 2 base, 4 base, ... up to max. */
export function backoffInterval(
  baseMs: number,
  failures: number,
  maxMs = MAX_INTERVAL_MS
): number {
  const ceiling = Math.max(baseMs, maxMs);
  return Math.min(ceiling, baseMs * 2 ** Math.max(0, failures));
}

/** The refresh interval in milliseconds from the settings' seconds (clamped, default 2 s). */
export function refreshIntervalMs(seconds: unknown): number {
  const value =
    typeof seconds === 'number' && Number.isFinite(seconds)
      ? seconds
      : DEFAULT_REFRESH_S;
  return Math.round(
    Math.min(MAX_INTERVAL_MS / 1000, Math.max(MIN_REFRESH_S, value)) * 1000
  );
}

export function initialState<T>(baseMs: number): IPollState<T> {
  return { data: null, error: null, failures: 0, interval: baseMs };
}

export function succeeded<T>(data: T, baseMs: number): IPollState<T> {
  return { data, error: null, failures: 0, interval: baseMs };
}

export function failed<T>(
  state: IPollState<T>,
  message: string,
  baseMs: number,
  maxMs = MAX_INTERVAL_MS
): IPollState<T> {
  const failures = state.failures + 1;
  return {
    data: state.data,
    error: message,
    failures,
    interval: backoffInterval(baseMs, failures, maxMs)
  };
}

/** A new base interval (from the settings): the wait follows, failures keep backing off. */
export function rebased<T>(
  state: IPollState<T>,
  baseMs: number,
  maxMs = MAX_INTERVAL_MS
): IPollState<T> {
  return { ...state, interval: backoffInterval(baseMs, state.failures, maxMs) };
}

/**
 * Whether the server extension answers. `unknown` until the first probe,
 * `missing` after a 404 from a listing route (they never 404 when the
 * extension is enabled), `available` after any answer from one.
 */
export type Availability = 'unknown' | 'available' | 'missing';

/** The availability after a listing answered with `status` (0: no answer at all). */
export function availabilityAfter(
  current: Availability,
  status: number
): Availability {
  if (status === 404) {
    return 'missing';
  }
  if (status === 0) {
    return current;
  }
  return 'available';
}
