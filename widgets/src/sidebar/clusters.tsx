/** The Clusters section: every live cluster of the registry (`GET clusters`). */
import * as React from 'react';

import { CommandIDs } from '../commandIds';
import { formatAge, formatBytes, formatCountOf } from '../format';
import { ICluster, IClusterList } from '../types';
import { ISectionContext, PolledSection } from './section';

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
    return (
      <ul className="wb-list">
        {clusters.map(cluster => this._row(cluster, now))}
      </ul>
    );
  }

  private _row(cluster: ICluster, now: number): React.ReactElement {
    const args = { id: cluster.id };
    const facts = [
      formatCountOf(cluster.workers, 'worker'),
      formatCountOf(cluster.threads, 'thread'),
      formatBytes(cluster.memory)
    ];
    if (cluster.gpus > 0) {
      facts.push(formatCountOf(cluster.gpus, 'GPU'));
    }
    return (
      <li className="wb-row wb-cluster-row" key={cluster.id} data-id={cluster.id}>
        <div className="wb-row-head">
          <span className="wb-row-title">{cluster.kind}</span>
          <span className="wb-muted" title={`started ${formatAge(cluster.created, now)}`}>
            {formatAge(cluster.created, now)}
          </span>
        </div>
        <div className="wb-muted wb-ellipsis" title={cluster.address}>
          {cluster.address}
          {cluster.owned ? '' : ' (joined)'}
        </div>
        <div className="wb-row-facts">
          {facts.map((fact, i) => (
            <span key={i}>{fact}</span>
          ))}
        </div>
        <div className="wb-row-actions">
          {cluster.dashboard_link && (
            <button
              className="wb-button wb-cluster-dashboard"
              title={`Open the Dask dashboard (${cluster.dashboard_link}) in a tab`}
              onClick={() => this.run(CommandIDs.openClusterDashboard, args)}
            >
              Dashboard
            </button>
          )}
          <button
            className="wb-button wb-cluster-insert"
            title="Insert the code that joins this cluster into a new cell of the active notebook"
            onClick={() => this.run(CommandIDs.insertClusterCode, args)}
          >
            Use in notebook
          </button>
          {cluster.owned && (
            <button
              className="wb-button wb-mod-danger wb-cluster-stop"
              title="Stop this cluster: its scheduler and workers"
              onClick={() => this.run(CommandIDs.stopCluster, args)}
            >
              Stop
            </button>
          )}
        </div>
      </li>
    );
  }
}
