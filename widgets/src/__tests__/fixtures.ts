/**
 * Listing rows for the specs: a running, owned cluster, a running dashboard
 * and a serving endpoint, as overridden.
 */
import { ICluster, IDashboard, IEndpoint } from '../types';

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

export function endpoint(overrides: Partial<IEndpoint>): IEndpoint {
  return {
    id: 'e1',
    url: 'http://127.0.0.1:8100/',
    engine: 'onnxruntime',
    model: 'demo',
    status: 'serving',
    requests_per_s: 412.5,
    p99_ms: 3.254,
    errors: 0,
    requests: 9000,
    max_batch: 32,
    max_delay_ms: 5,
    host: '127.0.0.1',
    port: 8100,
    pid: 42,
    created: 1000,
    alerts: [],
    ...overrides
  };
}
