/**
 * A sidebar section: one listing route polled (polledValue.ts) and drawn with
 * React. It stands by while the section is hidden (collapsed, or the sidebar
 * closed), while the server extension is not known to answer, and while the
 * page is hidden. A failure keeps the last answer on screen with the error
 * above it, and backs off.
 */
import { ReactWidget } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import * as React from 'react';

import { WorkbenchApi, statusOf } from '../api';
import { ServerAvailability } from '../availability';
import { formatDuration } from '../format';
import { Availability } from '../poll';
import { PolledValue } from '../polledValue';

/** What every section needs: the API, the server's availability, the commands its buttons run. */
export interface ISectionContext {
  api: WorkbenchApi;
  availability: ServerAvailability;
  commands: CommandRegistry;
  /** The refresh interval in milliseconds (from the settings). */
  refreshMs: number;
}

export abstract class PolledSection<T> extends ReactWidget {
  constructor(
    protected readonly context: ISectionContext,
    options: { label: string; className: string }
  ) {
    super();
    this.addClass('wb-section');
    this.addClass(options.className);
    this.title.label = options.label;
    const { availability } = context;
    this._value = new PolledValue<T>({
      fetch: () => this.fetch(),
      refreshMs: context.refreshMs,
      standby: () =>
        !this.isVisible || availability.state !== 'available' ? true : 'when-hidden',
      name: `@workbench-ai/jupyterlab:${options.className}`,
      onError: error => availability.report(statusOf(error)),
      onChange: () => this.update()
    });
    availability.changed.connect(this._onAvailability, this);
  }

  /** Ask now (after an action changed what the listing shows). */
  refresh(): Promise<void> {
    return this._value.refresh();
  }

  /** Follow a new refresh interval from the settings. */
  setRefreshInterval(ms: number): void {
    this._value.setRefreshInterval(ms);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._value.dispose();
    this.context.availability.changed.disconnect(this._onAvailability, this);
    super.dispose();
  }

  /** The listing route's answer. */
  protected abstract fetch(): Promise<T>;

  /** The section's body for an answer. */
  protected abstract renderData(data: T): React.ReactElement;

  /** Run a command from a button; commands report their own failures. */
  protected run(id: string, args: { [key: string]: string } = {}): void {
    void this.context.commands.execute(id, args);
  }

  protected render(): React.ReactElement {
    const { data, error, interval } = this._value.state;
    return (
      <>
        {error !== null && (
          <div className="wb-section-error" role="alert">
            {error}{' '}
            <span className="wb-muted">
              (retrying in {formatDuration(interval / 1000)})
            </span>
          </div>
        )}
        {data !== null
          ? this.renderData(data)
          : error === null && <div className="wb-empty">Loading…</div>}
      </>
    );
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this._value.refresh();
  }

  private _onAvailability(_: ServerAvailability, state: Availability): void {
    if (state === 'available') {
      void this._value.refresh();
    }
  }

  private readonly _value: PolledValue<T>;
}
