/** The Lake section: the tables of every configured lake (`GET tables`). */
import * as React from 'react';

import { CommandIDs } from '../commandIds';
import { formatAge, formatBytes, formatCount, formatCountOf } from '../format';
import { ILake, ILakeList, ITableRow } from '../types';
import { ISectionContext, PolledSection } from './section';

export class LakeSection extends PolledSection<ILakeList> {
  constructor(context: ISectionContext) {
    super(context, { label: 'Lake', className: 'wb-section-lake' });
  }

  protected fetch(): Promise<ILakeList> {
    return this.context.api.tables();
  }

  protected renderData({ lakes }: ILakeList): React.ReactElement {
    const now = Date.now() / 1000;
    return <div>{lakes.map(lake => this._lake(lake, now))}</div>;
  }

  private _lake(lake: ILake, now: number): React.ReactElement {
    let body: React.ReactElement;
    if (lake.error !== null) {
      body = <div className="wb-error">{lake.error}</div>;
    } else if (lake.tables.length === 0) {
      body = (
        <div className="wb-empty">
          No table yet. Right-click a CSV, JSON lines or Parquet file in the
          file browser and choose “Ingest into lake…”.
        </div>
      );
    } else {
      body = (
        <ul className="wb-list">
          {lake.tables.map(table => this._table(lake, table, now))}
        </ul>
      );
    }
    return (
      <div className="wb-lake" key={lake.name} data-lake={lake.name}>
        <div className="wb-lake-head" title={lake.uri}>
          <span className="wb-row-title">{lake.name}</span>{' '}
          <span className="wb-muted wb-ellipsis">{lake.uri}</span>
        </div>
        {body}
      </div>
    );
  }

  private _table(lake: ILake, table: ITableRow, now: number): React.ReactElement {
    if (table.error !== null) {
      return (
        <li
          className="wb-row wb-table-row wb-mod-error"
          key={table.name}
          data-table={table.name}
        >
          <div className="wb-row-head">
            <span className="wb-row-title">{table.name}</span>
          </div>
          <div className="wb-error">{table.error}</div>
        </li>
      );
    }
    const open = () =>
      this.run(CommandIDs.openTable, { name: table.name, lake: lake.name });
    const quarantined = table.quarantined ?? 0;
    return (
      <li
        className="wb-row wb-table-row wb-mod-clickable"
        key={table.name}
        data-table={table.name}
        role="button"
        tabIndex={0}
        title={`Open ${table.name}: schema, preview, versions, quarantine and profile`}
        onClick={open}
        onKeyDown={event => {
          if (event.key === 'Enter') {
            open();
          }
        }}
      >
        <div className="wb-row-head">
          <span className="wb-row-title">{table.name}</span>
          <span className="wb-muted">v{table.version}</span>
        </div>
        <div className="wb-row-facts">
          <span>{formatCountOf(table.rows, 'row')}</span>
          <span>{formatBytes(table.bytes)}</span>
          <span className={quarantined > 0 ? 'wb-warn' : undefined}>
            {formatCount(quarantined)} quarantined
          </span>
        </div>
        <div className="wb-muted">updated {formatAge(table.updated, now)}</div>
      </li>
    );
  }
}
