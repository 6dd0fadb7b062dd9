/**
 * The rows of the Clusters and Dashboards sections. A running cluster or
 * dashboard has its links; a stopped one reads "stopped", has nothing to
 * open and keeps its Stop (which removes its entry). Plain React, no
 * JupyterLab: the buttons call `run` with a command id and its arguments.
 */
import * as React from 'react';

import { CommandIDs } from '../commandIds';
import { formatAge, formatBytes, formatCountOf } from '../format';
import { ICluster, IDashboard, ServiceStatus } from '../types';

/** Runs a command (the section's buttons go through the command registry). */
export type RunCommand = (id: string, args: { [key: string]: string }) => void;

export function ClusterRow(props: {
  cluster: ICluster;
  now: number;
  run: RunCommand;
}): React.ReactElement {
  const { cluster, now, run } = props;
  const args = { id: cluster.id };
  const running = cluster.status === 'running';
  const facts = [
    formatCountOf(cluster.workers, 'worker'),
    formatCountOf(cluster.threads, 'thread'),
    formatBytes(cluster.memory)
  ];
  if (cluster.gpus > 0) {
    facts.push(formatCountOf(cluster.gpus, 'GPU'));
  }
  return (
    <li className="wb-row wb-cluster-row" data-id={cluster.id} data-status={cluster.status}>
      <div className="wb-row-head">
        <span className="wb-row-title">{cluster.kind}</span>
        <span className="wb-muted" title={`started ${formatAge(cluster.created, now)}`}>
          {stoppedLabel(cluster.status)}
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
        {running && cluster.dashboard_link && (
          <button
            className="wb-button wb-cluster-dashboard"
            title={`Open the Dask dashboard (${cluster.dashboard_link}) in a tab`}
            onClick={() => run(CommandIDs.openClusterDashboard, args)}
          >
            Dashboard
          </button>
        )}
        <button
          className="wb-button wb-cluster-insert"
          title="Insert the code that joins this cluster into a new cell of the active notebook"
          onClick={() => run(CommandIDs.insertClusterCode, args)}
        >
          Use in notebook
        </button>
        {cluster.owned && (
          <button
            className="wb-button wb-mod-danger wb-cluster-stop"
            title={
              running
                ? 'Stop this cluster: its scheduler and workers'
                : 'Remove this stopped cluster from the list'
            }
            onClick={() => run(CommandIDs.stopCluster, args)}
          >
            {running ? 'Stop' : 'Remove'}
          </button>
        )}
      </div>
    </li>
  );
}

export function DashboardRow(props: {
  dashboard: IDashboard;
  now: number;
  run: RunCommand;
}): React.ReactElement {
  const { dashboard, now, run } = props;
  const args = { id: dashboard.id, url: dashboard.url };
  const running = dashboard.status === 'running';
  return (
    <li className="wb-row wb-dashboard-row" data-id={dashboard.id} data-status={dashboard.status}>
      <div className="wb-row-head">
        <span className="wb-row-title">{dashboard.name}</span>
        <span className="wb-muted">
          {stoppedLabel(dashboard.status)}
          {formatAge(dashboard.created, now)}
        </span>
      </div>
      <div className="wb-muted wb-ellipsis" title={dashboard.notebook}>
        {dashboard.notebook}
        {dashboard.lake ? ` · lake ${dashboard.lake}` : ''}
      </div>
      <div className="wb-row-actions">
        {running && (
          <button
            className="wb-button wb-dashboard-open"
            title="Open the dashboard in a JupyterLab tab"
            onClick={() => run(CommandIDs.openDashboard, args)}
          >
            Open
          </button>
        )}
        {running && (
          <button
            className="wb-button wb-dashboard-browser"
            title={`Open ${dashboard.url} in a new browser tab`}
            onClick={() => run(CommandIDs.openDashboardInBrowser, args)}
          >
            Browser tab
          </button>
        )}
        <button
          className="wb-button wb-mod-danger wb-dashboard-stop"
          title={
            running
              ? "Stop the dashboard's Voila server"
              : 'Remove this stopped dashboard from the list'
          }
          onClick={() => run(CommandIDs.stopDashboard, args)}
        >
          {running ? 'Stop' : 'Remove'}
        </button>
      </div>
    </li>
  );
}

/** "stopped · " before a stopped thing's age; nothing for a running one. */
function stoppedLabel(status: ServiceStatus): React.ReactElement | null {
  return status === 'stopped' ? <span className="wb-stopped">stopped · </span> : null;
}
