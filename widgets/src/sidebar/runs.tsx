/** The Runs section: training runs, newest first (`GET runs`). */
import * as React from 'react';

import { alertBadge } from '../alertBadge';
import { WorkbenchApi, errorMessage } from '../api';
import { CommandIDs } from '../commandIds';
import { formatAge, formatCountOf, formatNumber, formatRate } from '../format';
import { sparklinePoints } from '../sparkline';
import { IRun, IRunList } from '../types';
import { ISectionContext, PolledSection } from './section';

export class RunsSection extends PolledSection<IRunList> {
  constructor(context: ISectionContext) {
    super(context, { label: 'Runs', className: 'wb-section-runs' });
  }

  protected fetch(): Promise<IRunList> {
    return this.context.api.runs();
  }

  protected renderData({ runs }: IRunList): React.ReactElement {
    if (runs.length === 0) {
      return (
        <div className="wb-empty">
          No training run yet. Start one in a notebook with{' '}
          <code>wb.launch(train)</code>.
        </div>
      );
    }
    const now = Date.now() / 1000;
    return <ul className="wb-list">{runs.map(run => this._row(run, now))}</ul>;
  }

  private _row(run: IRun, now: number): React.ReactElement {
    const args = { id: run.id };
    const alert = alertBadge(run);
    return (
      <li
        className={`wb-row wb-run-row wb-mod-${run.status}`}
        key={run.id}
        data-id={run.id}
        data-status={run.status}
      >
        <div className="wb-row-head">
          <button
            className="wb-link wb-run-open"
            title="Open the run's panel: throughput and loss"
            onClick={() => this.run(CommandIDs.openRun, args)}
          >
            {run.name}
          </button>
          {alert !== null && (
            <span
              className={alert.className}
              title={alert.title}
              data-severity={alert.severity}
            >
              {alert.text}
            </span>
          )}
          <span className={`wb-badge wb-badge-${run.status}`}>{run.status}</span>
        </div>
        <div className="wb-row-facts">
          <span>{formatCountOf(run.ranks, 'rank')}</span>
          <span>{formatCountOf(run.steps, 'step')}</span>
          <span>{formatRate(run.samples_per_s, 'samples')}</span>
        </div>
        <div className="wb-row-facts">
          <Sparkline values={run.throughput} />
          <span title="last logged loss">loss {formatNumber(run.last_loss)}</span>
          <span className="wb-muted">{formatAge(run.started, now)}</span>
        </div>
        {run.error !== null && (
          <RunFailure
            api={this.context.api}
            id={run.id}
            rank={run.error.rank}
            message={run.error.message}
          />
        )}
        {run.status === 'running' && (
          <div className="wb-row-actions">
            <button
              className="wb-button wb-mod-danger wb-run-stop"
              title="Ask the run to stop (it checks between steps)"
              onClick={() => this.run(CommandIDs.stopRun, args)}
            >
              Stop
            </button>
          </div>
        )}
      </li>
    );
  }
}

/** The throughput sparkline: the server's points (samples/s), drawn as they are. */
function Sparkline(props: { values: number[] }): React.ReactElement | null {
  const width = 80;
  const height = 18;
  const points = sparklinePoints(props.values, width, height);
  if (points === '') {
    return null;
  }
  return (
    <svg
      className="wb-sparkline"
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label="throughput, samples/s"
    >
      <polyline points={points} />
    </svg>
  );
}

/** A failed run's rank and message; its traceback (GET runs/{id}) when expanded. */
function RunFailure(props: {
  api: WorkbenchApi;
  id: string;
  rank: number;
  message: string;
}): React.ReactElement {
  const [traceback, setTraceback] = React.useState<string | null>(null);
  const onToggle = (event: React.SyntheticEvent<HTMLDetailsElement>) => {
    if (!event.currentTarget.open || traceback !== null) {
      return;
    }
    setTraceback('Loading…');
    props.api.run(props.id).then(
      detail => setTraceback(detail.traceback ?? 'No traceback was recorded.'),
      error => setTraceback(`Could not load the traceback: ${errorMessage(error)}`)
    );
  };
  return (
    <details className="wb-run-error" onToggle={onToggle}>
      <summary className="wb-error">
        rank {props.rank}: {props.message}
      </summary>
      <pre className="wb-traceback">{traceback}</pre>
    </details>
  );
}
