/** The Clusters section: every live cluster of the registry (`GET clusters`). */
import * as React from 'react';

import { IClusterList } from '../types';
import { ISectionContext, PolledSection } from './section';
import { ClusterRow } from './serviceRows';

export class ClustersSection extends PolledSection<IClusterList> {
  constructor(context: ISectionContext) {
    super(context, { label: 'Clusters', className: 'wb-section-clusters' });
  }

  protected fetch(): Promise<IClusterList> {
    return this.context.api.clusters();
  }

  protected renderData({ clusters }: IClusterList): React.ReactElement {
    if (clusters.length === 0) {
      return (
        <div className="wb-empty">
          No cluster is running. Start one in a notebook with{' '}
          <code>wb.cluster()</code>.
        </div>
      );
    }
    const now = Date.now() / 1000;
    const run = this.run.bind(this);
    return (
      <ul className="wb-list">
        {clusters.map(cluster => (
          <ClusterRow key={cluster.id} cluster={cluster} now={now} run={run} />
        ))}
      </ul>
    );
  }
}
