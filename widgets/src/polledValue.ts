/**
 * A value the page keeps asking the server for: a lumino `Poll` around a
 * request, holding the last answer, the last error and the backoff (the pure
 * state of poll.ts). Its factory never rejects, so a failing request never
 * reaches the console; it sets the poll's next interval itself: the refresh
 * interval after a success, doubling per consecutive failure up to a ceiling.
 */
import { IDisposable } from '@lumino/disposable';
import { IPoll, Poll } from '@lumino/polling';

import { errorMessage } from './api';
import {
  IPollState,
  MAX_INTERVAL_MS,
  failed,
  initialState,
  rebased,
  succeeded
} from './poll';

export interface IPolledValueOptions<T> {
  /** The request. */
  fetch: () => Promise<T>;
  /** The interval after a success, in milliseconds. */
  refreshMs: number;
  /** The longest wait after failures (default: one minute). */
  maxMs?: number;
  /** When not to ask: true (stand by), 'when-hidden' (stand by while the page is hidden). */
  standby: () => boolean | 'when-hidden';
  /** The poll's name, for debugging. */
  name: string;
  /** Called after every answer or failure, with the new state. */
  onChange(state: IPollState<T>): void;
  /** Called with each failure, before `onChange`. */
  onError?(error: unknown): void;
}

export class PolledValue<T> implements IDisposable {
  constructor(private readonly options: IPolledValueOptions<T>) {
    this._baseMs = options.refreshMs;
    this._maxMs = options.maxMs ?? MAX_INTERVAL_MS;
    this._state = initialState(this._baseMs);
    this._poll = new Poll({
      factory: () => this._tick(),
      frequency: this._frequency(),
      standby: options.standby,
      name: options.name
    });
  }

  get state(): IPollState<T> {
    return this._state;
  }

  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }

  /** Ask now, unless standing by. */
  refresh(): Promise<void> {
    return this._poll.refresh();
  }

  /** Stop asking (the value no longer changes). */
  stop(): Promise<void> {
    return this._poll.stop();
  }

  /** Follow a new refresh interval (from the settings). */
  setRefreshInterval(ms: number): void {
    this._baseMs = ms;
    this._state = rebased(this._state, ms, this._maxMs);
    this._schedule();
  }

  dispose(): void {
    this._poll.dispose();
  }

  private async _tick(): Promise<void> {
    try {
      this._state = succeeded(await this.options.fetch(), this._baseMs);
    } catch (error) {
      this.options.onError?.(error);
      this._state = failed(this._state, errorMessage(error), this._baseMs, this._maxMs);
    }
    this._schedule();
    this.options.onChange(this._state);
  }

  private _schedule(): void {
    this._poll.frequency = this._frequency();
  }

  /** The poll's frequency for the current state: its interval, no lumino backoff. */
  private _frequency(): IPoll.Frequency {
    const { interval } = this._state;
    return { interval, backoff: false, max: Math.max(interval, this._maxMs) };
  }

  private _baseMs: number;
  private readonly _maxMs: number;
  private _state: IPollState<T>;
  private readonly _poll: Poll;
}
