/**
 * Which of the listed things a command acts on. A command may refuse some (a
 * stopped dashboard has nothing to open): it never offers them, and an
 * explicit id of one fails with the reason. Pure: lists in, lists out.
 */
import { ICluster, IDashboard, IEndpoint, ServiceStatus } from './types';

/** Why a command cannot act on an item, or null when it can. */
export type Refusal<T> = (item: T) => string | null;

/** The items a command offers to pick from: those it does not refuse. */
export function offered<T>(items: T[], refuse: Refusal<T>): T[] {
  return items.filter(item => refuse(item) === null);
}

/** The item listed under `id`; throws when none is, or when the command refuses it. */
export function named<T>(
  items: T[],
  key: (item: T) => string,
  id: string,
  refuse: Refusal<T>
): T {
  const found = items.find(item => key(item) === id);
  if (found === undefined) {
    throw new Error(`${id} is no longer listed by the server`);
  }
  const reason = refuse(found);
  if (reason !== null) {
    throw new Error(reason);
  }
  return found;
}

/** Refuses nothing. */
export function refuseNone(): null {
  return null;
}

/** Refuses a stopped cluster: its Dask dashboard no longer answers. */
export function refuseStoppedCluster(cluster: ICluster): string | null {
  return cluster.status === 'stopped'
    ? `the cluster at ${cluster.address} is stopped, so its Dask dashboard no longer answers`
    : null;
}

/** Refuses a stopped dashboard: its Voila server no longer answers. */
export function refuseStoppedDashboard(dashboard: IDashboard): string | null {
  return dashboard.status === 'stopped'
    ? `the dashboard ${dashboard.name} is stopped (its Voila server no longer answers); ` +
        `publish ${dashboard.notebook} again to open it`
    : null;
}

/** A cluster in a pick list: "cpu tcp://127.0.0.1:8786", "(stopped)" when it is. */
export function clusterLabel(cluster: ICluster): string {
  return `${cluster.kind} ${cluster.address}${stoppedMark(cluster.status)}`;
}

/** A dashboard in a pick list: "sales (notebooks/sales.ipynb)", "(stopped)" when it is. */
export function dashboardLabel(dashboard: IDashboard): string {
  return `${dashboard.name} (${dashboard.notebook})${stoppedMark(dashboard.status)}`;
}

/** Refuses an endpoint asked to stop already: it is on its way out. */
export function refuseStoppingEndpoint(endpoint: IEndpoint): string | null {
  return endpoint.status === 'stopping'
    ? `the endpoint at ${endpoint.url} is stopping already`
    : null;
}

/** An endpoint in a pick list: "demo (onnxruntime) http://127.0.0.1:8100/". */
export function endpointLabel(endpoint: IEndpoint): string {
  return `${endpoint.model} (${endpoint.engine}) ${endpoint.url}`;
}

function stoppedMark(status: ServiceStatus): string {
  return status === 'stopped' ? ' (stopped)' : '';
}
