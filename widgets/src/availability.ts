/**
 * Whether the Workbench server extension answers. One cheap probe settles it
 * at start-up; every poll of the page (the sidebar's sections, the status
 * bar) stands by until it does, so a server without the extension sees one
 * 404 at load and then one per probe (backing off from 20 s to 5 min),
 * instead of one per section per tick. A listing that answers 404 later
 * (the server restarted without the extension) reports it here.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { WorkbenchApi, statusOf } from './api';
import { Availability, availabilityAfter } from './poll';
import { PolledValue } from './polledValue';

/** The probe's interval (its first wait after a failure is twice this), and its longest wait. */
const PROBE_MS = 10_000;
const PROBE_MAX_MS = 300_000;

export class ServerAvailability implements IDisposable {
  constructor(api: WorkbenchApi) {
    this._probe = new PolledValue({
      fetch: () => api.dashboards(),
      refreshMs: PROBE_MS,
      maxMs: PROBE_MAX_MS,
      standby: () => (this._state === 'available' ? true : 'when-hidden'),
      name: '@workbench-ai/jupyterlab:probe',
      onError: error => this.report(statusOf(error)),
      onChange: state => {
        if (state.error === null) {
          this.report(200);
        }
      }
    });
  }

  /** `unknown` until the first answer, then `available` or `missing`. */
  get state(): Availability {
    return this._state;
  }

  get changed(): ISignal<this, Availability> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._probe.isDisposed;
  }

  /** Record the HTTP status a listing route answered (0: no answer). */
  report(status: number): void {
    const next = availabilityAfter(this._state, status);
    if (next === this._state) {
      return;
    }
    this._state = next;
    this._changed.emit(next);
  }

  dispose(): void {
    this._probe.dispose();
    Signal.clearData(this);
  }

  private _state: Availability = 'unknown';
  private readonly _changed = new Signal<this, Availability>(this);
  private readonly _probe: PolledValue<unknown>;
}
