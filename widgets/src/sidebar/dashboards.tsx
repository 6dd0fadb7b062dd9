/** The Dashboards section: published Voila dashboards (`GET dashboards`). */
import * as React from 'react';

import { CommandIDs } from '../commandIds';
import { IDashboardList } from '../types';
import { ISectionContext, PolledSection } from './section';
import { DashboardRow } from './serviceRows';

export class DashboardsSection extends PolledSection<IDashboardList> {
  constructor(context: ISectionContext) {
    super(context, { label: 'Dashboards', className: 'wb-section-dashboards' });
  }

  protected fetch(): Promise<IDashboardList> {
    return this.context.api.dashboards();
  }

  protected renderData({ dashboards }: IDashboardList): React.ReactElement {
    const now = Date.now() / 1000;
    const run = this.run.bind(this);
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
            {dashboards.map(dashboard => (
              <DashboardRow key={dashboard.id} dashboard={dashboard} now={now} run={run} />
            ))}
          </ul>
        )}
      </>
    );
  }
}
