/**
 * A lake table's panel (`GET tables/{name}`), needing no kernel: schema, a
 * preview of the first rows, the versions with their ingest accounting, the
 * quarantine with its reasons, and the stored column profile with one small
 * histogram per column. Without a stored profile, "Compute profile" starts
 * one on the task cluster and reloads when it is done.
 */
import { Notification } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { WorkbenchApi, errorMessage } from './api';
import { Figure } from './figure';
import { Grid } from './grid';
import {
  formatCell,
  formatCount,
  formatCountOf,
  formatFraction,
  formatNumber,
  formatTimestamp
} from './format';
import { taskFailedMessage } from './messages';
import { followTask, settleNotification } from './tasks';
import {
  IColumnProfile,
  IHistoryEntry,
  IProfile,
  IQuarantine,
  ITableDetail
} from './types';

export interface ITablePanelOptions {
  api: WorkbenchApi;
  rendermime: IRenderMimeRegistry;
  name: string;
  lake?: string;
}

export class TablePanel extends ReactWidget {
  constructor(private readonly options: ITablePanelOptions) {
    super();
    this.addClass('wb-panel');
    this.addClass('wb-table-panel');
    void this.reload();
  }

  /** Ask the server for the table again. */
  async reload(): Promise<void> {
    const { api, name, lake } = this.options;
    try {
      this._detail = await api.table(name, lake);
      this._error = null;
    } catch (error) {
      this._error = errorMessage(error);
    }
    this.update();
  }

  protected render(): React.ReactElement {
    const detail = this._detail;
    return (
      <div className="wb-panel-body">
        <div className="wb-panel-head">
          <h2>{this.options.name}</h2>
          {detail && (
            <span className="wb-muted">
              lake {detail.lake} · version {detail.version}
            </span>
          )}
          <button className="wb-button wb-panel-reload" onClick={() => void this.reload()}>
            Reload
          </button>
        </div>
        {this._error !== null && <div className="wb-section-error">{this._error}</div>}
        {detail === null
          ? this._error === null && <div className="wb-empty">Loading…</div>
          : this._sections(detail)}
      </div>
    );
  }

  private _sections(detail: ITableDetail): React.ReactElement {
    return (
      <>
        <section className="wb-panel-section wb-table-schema">
          <h3>Schema</h3>
          <Grid
            columns={['column', 'type', 'nullable']}
            rows={detail.schema.map(f => [f.name, f.type, f.nullable ? 'yes' : 'no'])}
          />
        </section>
        <section className="wb-panel-section wb-table-preview">
          <h3>Preview: the first {formatCountOf(detail.preview.rows.length, 'row')}</h3>
          <div className="wb-scroll">
            <Grid
              columns={detail.preview.columns}
              rows={detail.preview.rows.map(row => row.map(formatCell))}
            />
          </div>
        </section>
        <section className="wb-panel-section wb-table-history">
          <h3>Versions</h3>
          <History history={detail.history} />
        </section>
        <section className="wb-panel-section wb-table-quarantine">
          <h3>Quarantine</h3>
          <Quarantine quarantine={detail.quarantine} />
        </section>
        <section className="wb-panel-section wb-table-profile">
          <h3>Profile</h3>
          {detail.profile === null ? this._noProfile() : this._profile(detail.profile)}
        </section>
      </>
    );
  }

  private _noProfile(): React.ReactElement {
    return (
      <div>
        <p className="wb-muted">No profile is stored for this version yet.</p>
        <button
          className="wb-button wb-profile-compute"
          disabled={this._profiling}
          onClick={() => void this._computeProfile()}
        >
          {this._profiling ? 'Computing…' : 'Compute profile'}
        </button>
      </div>
    );
  }

  private _profile(profile: IProfile): React.ReactElement {
    return (
      <>
        <p className="wb-muted">
          Version {profile.version}, {formatCountOf(profile.rows, 'row')}.
        </p>
        <div className="wb-scroll">
          <Grid
            columns={[
              'column',
              'type',
              'count',
              'nulls',
              'null %',
              'distinct',
              'min',
              'max',
              'mean',
              'std',
              'p50'
            ]}
            rows={profile.columns.map(profileRow)}
          />
        </div>
        <div className="wb-histograms">
          {profile.columns
            .filter(c => profile.figures[c.column] !== undefined)
            .map(c => (
              <div className="wb-histogram" key={c.column}>
                <div className="wb-histogram-title">{c.column}</div>
                <Figure
                  figure={profile.figures[c.column]}
                  rendermime={this.options.rendermime}
                />
              </div>
            ))}
        </div>
      </>
    );
  }

  private async _computeProfile(): Promise<void> {
    const { api, name, lake } = this.options;
    this._profiling = true;
    this.update();
    const note = Notification.emit(`Profiling ${name}…`, 'in-progress', {
      autoClose: false
    });
    try {
      const { task: id } = await api.computeProfile(name, lake);
      const task = await followTask(api, id, name, note);
      if (task.state === 'failed') {
        settleNotification(note, 'error', taskFailedMessage(task, name));
      } else {
        settleNotification(note, 'success', `Profiled ${name}.`);
        await this.reload();
      }
    } catch (error) {
      settleNotification(note, 'error', `Profiling ${name} failed: ${errorMessage(error)}`);
    }
    this._profiling = false;
    this.update();
  }

  private _detail: ITableDetail | null = null;
  private _error: string | null = null;
  private _profiling = false;
}

function profileRow(c: IColumnProfile): string[] {
  const stat = (value: unknown) =>
    typeof value === 'number' ? formatNumber(value) : formatCell(value);
  return [
    c.column,
    c.type,
    formatCount(c.count),
    formatCount(c.nulls),
    formatFraction(c.null_fraction),
    formatCount(c.distinct),
    stat(c.min),
    stat(c.max),
    stat(c.mean),
    stat(c.std),
    stat(c.p50)
  ];
}

function History(props: { history: IHistoryEntry[] }): React.ReactElement {
  return (
    <Grid
      columns={[
        'version',
        'time',
        'operation',
        'rows in',
        'written',
        'quarantined',
        'duplicates'
      ]}
      rows={props.history.map(h => [
        String(h.version),
        formatTimestamp(h.timestamp),
        h.operation,
        formatCount(h.rows_in),
        formatCount(h.rows_written),
        formatCount(h.rows_quarantined),
        formatCount(h.duplicates_dropped)
      ])}
    />
  );
}

function Quarantine(props: { quarantine: IQuarantine }): React.ReactElement {
  const { total, reasons, rows } = props.quarantine;
  if (total === 0) {
    return <p className="wb-muted">No row was quarantined.</p>;
  }
  return (
    <>
      <p>
        {formatCountOf(total, 'row')} quarantined
        {rows.length < total ? `; the first ${formatCount(rows.length)} below` : ''}.
      </p>
      <Grid
        columns={['reason', 'rows']}
        rows={reasons.map(r => [r.kind, formatCount(r.count)])}
      />
      <div className="wb-scroll">
        <Grid
          columns={['source', 'line', 'column', 'reason', 'raw']}
          rows={rows.map(r => [
            r.source,
            r.line === null ? '' : String(r.line),
            r.column ?? '',
            r.reason,
            r.raw ?? ''
          ])}
        />
      </div>
    </>
  );
}
