import {
  MAX_INTERVAL_MS,
  availabilityAfter,
  backoffInterval,
  failed,
  initialState,
  rebased,
  refreshIntervalMs,
  succeeded
} from '../poll';

describe('backoffInterval', () => {
  it('doubles per failure up to the ceiling', () => {
    expect(backoffInterval(2000, 0)).toBe(2000);
    expect(backoffInterval(2000, 1)).toBe(4000);
    expect(backoffInterval(2000, 3)).toBe(16000);
    expect(backoffInterval(2000, 10)).toBe(MAX_INTERVAL_MS);
    expect(backoffInterval(2000, 2, 5000)).toBe(5000);
  });
  it('never waits less than the base, even above the ceiling', () => {
    expect(backoffInterval(90000, 4)).toBe(90000);
  });
});

describe('refreshIntervalMs', () => {
  it('reads seconds and clamps them', () => {
    expect(refreshIntervalMs(2)).toBe(2000);
    expect(refreshIntervalMs(0.1)).toBe(500);
    expect(refreshIntervalMs(3600)).toBe(MAX_INTERVAL_MS);
  });
  it('falls back to two seconds', () => {
    expect(refreshIntervalMs(undefined)).toBe(2000);
    expect(refreshIntervalMs('fast')).toBe(2000);
    expect(refreshIntervalMs(NaN)).toBe(2000);
  });
});

describe('the poll state', () => {
  it('starts empty at the base interval', () => {
    expect(initialState(2000)).toEqual({
      data: null,
      error: null,
      failures: 0,
      interval: 2000
    });
  });
  it('keeps the last answer through failures and backs off', () => {
    let state = succeeded(['a'], 2000);
    state = failed(state, 'boom', 2000);
    expect(state).toEqual({
      data: ['a'],
      error: 'boom',
      failures: 1,
      interval: 4000
    });
    state = failed(state, 'boom again', 2000);
    expect(state.failures).toBe(2);
    expect(state.interval).toBe(8000);
    expect(state.error).toBe('boom again');
  });
  it('recovers at the base interval after a success', () => {
    const down = failed(failed(initialState<string[]>(2000), 'x', 2000), 'x', 2000);
    expect(succeeded(['b'], 2000)).toEqual({
      data: ['b'],
      error: null,
      failures: 0,
      interval: 2000
    });
    expect(down.data).toBeNull();
  });
  it('follows a new base interval, still backing off', () => {
    const down = failed(initialState<number>(2000), 'x', 2000);
    expect(rebased(down, 5000).interval).toBe(10000);
    expect(rebased(succeeded(1, 2000), 5000).interval).toBe(5000);
  });
});

describe('availabilityAfter', () => {
  it('reads a 404 from a listing as the extension missing', () => {
    expect(availabilityAfter('unknown', 404)).toBe('missing');
    expect(availabilityAfter('available', 404)).toBe('missing');
  });
  it('reads any other answer as the extension there', () => {
    expect(availabilityAfter('unknown', 200)).toBe('available');
    expect(availabilityAfter('missing', 200)).toBe('available');
    expect(availabilityAfter('missing', 500)).toBe('available');
  });
  it('keeps what it knew when no answer came', () => {
    expect(availabilityAfter('missing', 0)).toBe('missing');
    expect(availabilityAfter('available', 0)).toBe('available');
    expect(availabilityAfter('unknown', 0)).toBe('unknown');
  });
});
