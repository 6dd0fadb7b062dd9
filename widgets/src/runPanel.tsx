/**
 * A training run's panel (`GET runs/{id}`): its status and numbers, its
 * throughput and loss figures (built by the server), the logged metric names,
 * and for a failed run the failed rank's traceback. It refreshes while the
 * run is running, with the sidebar's interval and backoff.
 */
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ReactWidget } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import * as React from 'react';

import { WorkbenchApi } from './api';
import { CommandIDs } from './commandIds';
import { Figure } from './figure';
import {
  formatCount,
  formatDuration,
  formatNumber,
  formatRate,
  formatTimestamp
} from './format';
import { PolledValue } from './polledValue';
import { IRunDetail } from './types';

export interface IRunPanelOptions {
  api: WorkbenchApi;
  rendermime: IRenderMimeRegistry;
  commands: CommandRegistry;
  id: string;
  refreshMs: number;
}

export class RunPanel extends ReactWidget {
  constructor(private readonly options: IRunPanelOptions) {
    super();
    this.addClass('wb-panel');
    this.addClass('wb-run-panel');
    this._value = new PolledValue<IRunDetail>({
      fetch: () => options.api.run(options.id),
      refreshMs: options.refreshMs,
      standby: () => (this.isVisible ? 'when-hidden' : true),
      name: '@workbench-ai/jupyterlab:run-panel',
      onChange: state => {
        const run = state.data;
        if (run !== null) {
          this.title.label = `Run ${run.name}`;
          if (run.status !== 'running') {
            // A finished run no longer changes.
            void this._value.stop();
          }
        }
        this.update();
      }
    });
  }

  dispose(): void {
    this._value.dispose();
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this._value.refresh();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    void this._value.refresh();
  }

  protected render(): React.ReactElement {
    const { data: run, error } = this._value.state;
    return (
      <div className="wb-panel-body">
        {error !== null && <div className="wb-section-error">{error}</div>}
        {run === null
          ? error === null && <div className="wb-empty">Loading…</div>
          : this._run(run)}
      </div>
    );
  }

  private _run(run: IRunDetail): React.ReactElement {
    const end = run.ended ?? Date.now() / 1000;
    return (
      <>
        <div className="wb-panel-head">
          <h2>{run.name}</h2>
          <span className={`wb-badge wb-badge-${run.status}`}>{run.status}</span>
          {run.status === 'running' && (
            <button
              className="wb-button wb-mod-danger wb-run-stop"
              onClick={() =>
                void this.options.commands.execute(CommandIDs.stopRun, { id: run.id })
              }
            >
              Stop
            </button>
          )}
        </div>
        <p className="wb-row-facts">
          {formatCount(run.ranks)} ranks · {formatCount(run.steps)} steps ·{' '}
          {formatRate(run.samples_per_s, 'samples')} · last loss{' '}
          {formatNumber(run.last_loss)} · started {formatTimestamp(run.started)}, ran{' '}
          {formatDuration(end - run.started)}
        </p>
        {run.error !== null && (
          <section className="wb-panel-section wb-run-failure">
            <h3>
              Rank {run.error.rank} failed: {run.error.message}
            </h3>
            {run.traceback && <pre className="wb-traceback">{run.traceback}</pre>}
          </section>
        )}
        <section className="wb-panel-section wb-run-figures">
          <Figure figure={run.figures.throughput} rendermime={this.options.rendermime} />
          <Figure figure={run.figures.loss} rendermime={this.options.rendermime} />
        </section>
        <p className="wb-muted">
          Logged metrics: {run.metrics.length > 0 ? run.metrics.join(', ') : 'none'}
        </p>
      </>
    );
  }

  private readonly _value: PolledValue<IRunDetail>;
}
