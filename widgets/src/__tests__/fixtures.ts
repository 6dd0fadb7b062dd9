/** Listing rows for the specs: a running, owned cluster and a running dashboard, as overridden. */
import { ICluster, IDashboard } from '../types';

export function cluster(overrides: Partial<ICluster>): ICluster {
  return {
    id: 'c1',
    address: 'tcp://127.0.0.1:8786',
    kind: 'cpu',
    status: 'running',
    workers: 2,
    threads: 4,
    memory: 2 ** 30,
    gpus: 0,
    dashboard_link: '/proxy/8787/status',
    pid: 42,
    created: 1000,
    owned: true,
    ...overrides
  };
}

export function dashboard(overrides: Partial<IDashboard>): IDashboard {
  return {
    id: 'd1',
    name: 'sales',
    status: 'running',
    url: '/proxy/8866/',
    notebook: 'notebooks/sales.ipynb',
    lake: null,
    port: 8866,
    created: 1000,
    ...overrides
  };
}
