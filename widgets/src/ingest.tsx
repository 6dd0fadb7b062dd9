/**
 * "Ingest into lake…" on files of the file browser: a dialog asks the table
 * name, the PII columns and the dedup key (from the first file's header,
 * `GET sniff`) and the lake (when the server lists several); then
 * `POST tables` starts the ingest, a notification follows its task, and the
 * report (rows in = written + quarantined + duplicates) ends it.
 */
import { Dialog, Notification, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { WorkbenchApi, errorMessage } from './api';
import { basename, tableNameFromPath } from './paths';
import { ingestReportMessage, taskFailedMessage } from './messages';
import { followTask, settleNotification } from './tasks';
import { IIngestReport, IIngestRequest, ISniffColumn } from './types';

interface IIngestChoices {
  table: string;
  pii: string[];
  dedup: string;
  lake: string;
}

/** The dialog's form; the dialog reads it with `getValue()`. */
class IngestForm extends ReactWidget implements Dialog.IBodyWidget<IIngestChoices> {
  constructor(
    private readonly paths: string[],
    private readonly columns: ISniffColumn[],
    private readonly lakes: string[]
  ) {
    super();
    this.addClass('wb-ingest-form');
    this._choices = {
      table: tableNameFromPath(paths[0]),
      pii: [],
      dedup: '',
      lake: lakes[0] ?? ''
    };
  }

  getValue(): IIngestChoices {
    return this._choices;
  }

  protected render(): React.ReactElement {
    const choices = this._choices;
    const set = (change: Partial<IIngestChoices>) => {
      this._choices = { ...this._choices, ...change };
      this.update();
    };
    const files = this.paths.map(basename).join(', ');
    return (
      <div>
        <p className="wb-muted wb-ellipsis" title={this.paths.join('\n')}>
          {this.paths.length === 1 ? 'File' : `${this.paths.length} files`}: {files}
        </p>
        <label className="wb-field">
          <span>Table name</span>
          <input
            className="jp-mod-styled wb-ingest-table"
            value={choices.table}
            onChange={e => set({ table: e.target.value })}
          />
        </label>
        {this.lakes.length > 1 && (
          <label className="wb-field">
            <span>Lake</span>
            <select
              className="jp-mod-styled wb-ingest-lake"
              value={choices.lake}
              onChange={e => set({ lake: e.target.value })}
            >
              {this.lakes.map(lake => (
                <option key={lake} value={lake}>
                  {lake}
                </option>
              ))}
            </select>
          </label>
        )}
        <fieldset className="wb-field wb-ingest-pii">
          <legend>PII columns (replaced by keyed tokens before anything is written)</legend>
          {this.columns.map(column => (
            <label key={column.name} className="wb-checkbox">
              <input
                type="checkbox"
                value={column.name}
                checked={choices.pii.includes(column.name)}
                onChange={e =>
                  set({
                    pii: e.target.checked
                      ? [...choices.pii, column.name]
                      : choices.pii.filter(name => name !== column.name)
                  })
                }
              />
              {column.name} <span className="wb-muted">{column.type}</span>
            </label>
          ))}
        </fieldset>
        <label className="wb-field">
          <span>Deduplicate on</span>
          <select
            className="jp-mod-styled wb-ingest-dedup"
            value={choices.dedup}
            onChange={e => set({ dedup: e.target.value })}
          >
            <option value="">(keep every row)</option>
            {this.columns.map(column => (
              <option key={column.name} value={column.name}>
                {column.name}
              </option>
            ))}
          </select>
        </label>
      </div>
    );
  }

  private _choices: IIngestChoices;
}

/** Ask, start and follow the ingest of `paths`; `openTable` shows the table once written. */
export async function ingestFiles(
  api: WorkbenchApi,
  paths: string[],
  openTable: (name: string, lake: string | undefined) => void
): Promise<void> {
  let columns: ISniffColumn[];
  let lakes: string[];
  try {
    const [sniff, listing] = await Promise.all([api.sniff(paths[0]), api.tables()]);
    columns = sniff.columns;
    lakes = listing.lakes.map(lake => lake.name);
  } catch (error) {
    await showErrorMessage(`Cannot read ${basename(paths[0])}`, errorMessage(error));
    return;
  }
  const result = await showDialog({
    title: 'Ingest into lake',
    body: new IngestForm(paths, columns, lakes),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Ingest' })],
    focusNodeSelector: 'input.wb-ingest-table'
  });
  if (!result.button.accept || result.value === null) {
    return;
  }
  const choices = result.value;
  const request: IIngestRequest = { paths, table: choices.table.trim() };
  if (lakes.length > 1) {
    request.lake = choices.lake;
  }
  if (choices.pii.length > 0) {
    request.pii = choices.pii;
  }
  if (choices.dedup !== '') {
    request.dedup = [choices.dedup];
  }

  const subject = request.table;
  const note = Notification.emit(`Ingesting ${subject}…`, 'in-progress', {
    autoClose: false
  });
  try {
    const { task: id } = await api.ingest(request);
    const task = await followTask(api, id, subject, note);
    if (task.state === 'failed' || task.result === null) {
      settleNotification(note, 'error', taskFailedMessage(task, subject));
      return;
    }
    // A done task may still carry an error: the data is in, but its profile failed.
    const report: IIngestReport = task.result;
    const message =
      task.error === null
        ? ingestReportMessage(report)
        : `${ingestReportMessage(report)}. ${task.error}`;
    settleNotification(note, task.error === null ? 'success' : 'warning', message, [
      { label: 'Open table', callback: () => openTable(report.table, request.lake) }
    ]);
    openTable(report.table, request.lake);
  } catch (error) {
    settleNotification(note, 'error', `Ingesting ${subject} failed: ${errorMessage(error)}`);
  }
}
