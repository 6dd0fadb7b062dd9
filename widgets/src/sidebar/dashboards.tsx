/** The Dashboards section: published Voila dashboards (`GET dashboards`). */
import * as React from 'react';

import { CommandIDs } from '../commandIds';
import { formatAge } from '../format';
import { IDashboard, IDashboardList } from '../types';
import { ISectionContext, PolledSection } from './section';

export class DashboardsSection extends PolledSection<IDashboardList> {
  constructor(context: ISectionContext) {
    super(context, { label: 'Dashboards', className: 'wb-section-dashboards' });
  }

  protected fetch(): Promise<IDashboardList> {
    return this.context.api.dashboards();
  }

  protected renderData({ dashboards }: IDashboardList): React.ReactElement {
    const now = Date.now() / 1000;
    return (
      <>
        <div className="wb-row-actions">
          <button
            className="wb-button wb-publish-file"
            title="Choose a notebook and publish it as a Voila dashboard"
            onClick={() => this.run(CommandIDs.publishFile)}
          >
            Publish a notebook…
          </button>
        </div>
        {dashboards.length === 0 ? (
          <div className="wb-empty">No dashboard is published.</div>
        ) : (
          <ul className="wb-list">
            {dashboards.map(dashboard => this._row(dashboard, now))}
          </ul>
        )}
      </>
    );
  }

  private _row(dashboard: IDashboard, now: number): React.ReactElement {
    const args = { id: dashboard.id, url: dashboard.url };
    return (
      <li className="wb-row wb-dashboard-row" key={dashboard.id} data-id={dashboard.id}>
        <div className="wb-row-head">
          <span className="wb-row-title">{dashboard.name}</span>
          <span className="wb-muted">{formatAge(dashboard.created, now)}</span>
        </div>
        <div className="wb-muted wb-ellipsis" title={dashboard.notebook}>
          {dashboard.notebook}
          {dashboard.lake ? ` · lake ${dashboard.lake}` : ''}
        </div>
        <div className="wb-row-actions">
          <button
            className="wb-button wb-dashboard-open"
            title="Open the dashboard in a JupyterLab tab"
            onClick={() => this.run(CommandIDs.openDashboard, args)}
          >
            Open
          </button>
          <button
            className="wb-button wb-dashboard-browser"
            title={`Open ${dashboard.url} in a new browser tab`}
            onClick={() => this.run(CommandIDs.openDashboardInBrowser, args)}
          >
            Browser tab
          </button>
          <button
            className="wb-button wb-mod-danger wb-dashboard-stop"
            title="Stop the dashboard's Voila server"
            onClick={() => this.run(CommandIDs.stopDashboard, args)}
          >
            Stop
          </button>
        </div>
      </li>
    );
  }
}
