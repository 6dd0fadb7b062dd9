import {
  clusterLabel,
  dashboardLabel,
  named,
  offered,
  refuseNone,
  refuseStoppedCluster,
  refuseStoppedDashboard
} from '../choice';
import { cluster, dashboard } from './fixtures';

const clusters = [
  cluster({}),
  cluster({ id: 'c2', address: 'tcp://127.0.0.1:9786', status: 'stopped', dashboard_link: '' })
];
const dashboards = [dashboard({}), dashboard({ id: 'd2', name: 'old', status: 'stopped' })];

describe('offered', () => {
  it('offers only the running clusters and dashboards to open', () => {
    expect(offered(clusters, refuseStoppedCluster).map(c => c.id)).toEqual(['c1']);
    expect(offered(dashboards, refuseStoppedDashboard).map(d => d.id)).toEqual(['d1']);
  });
  it('offers nothing when every one is stopped', () => {
    expect(offered(clusters.slice(1), refuseStoppedCluster)).toEqual([]);
    expect(offered(dashboards.slice(1), refuseStoppedDashboard)).toEqual([]);
  });
  it('offers stopped ones too when nothing is refused (stopping)', () => {
    expect(offered(clusters, refuseNone)).toEqual(clusters);
    expect(offered(dashboards, refuseNone)).toEqual(dashboards);
  });
});

describe('named', () => {
  const id = (item: { id: string }) => item.id;
  it('takes the running one an id names', () => {
    expect(named(clusters, id, 'c1', refuseStoppedCluster)).toBe(clusters[0]);
    expect(named(dashboards, id, 'd1', refuseStoppedDashboard)).toBe(dashboards[0]);
  });
  it('says why a stopped one cannot be opened', () => {
    expect(() => named(clusters, id, 'c2', refuseStoppedCluster)).toThrow(
      'the cluster at tcp://127.0.0.1:9786 is stopped, so its Dask dashboard no longer answers'
    );
    expect(() => named(dashboards, id, 'd2', refuseStoppedDashboard)).toThrow(
      'the dashboard old is stopped (its Voila server no longer answers); ' +
        'publish notebooks/sales.ipynb again to open it'
    );
  });
  it('takes a stopped one when nothing is refused (stopping)', () => {
    expect(named(clusters, id, 'c2', refuseNone)).toBe(clusters[1]);
    expect(named(dashboards, id, 'd2', refuseNone)).toBe(dashboards[1]);
  });
  it('says when the id is not listed', () => {
    expect(() => named(clusters, id, 'gone', refuseNone)).toThrow(
      'gone is no longer listed by the server'
    );
  });
});

describe('pick-list labels', () => {
  it('mark a stopped one', () => {
    expect(clusterLabel(clusters[0])).toBe('cpu tcp://127.0.0.1:8786');
    expect(clusterLabel(clusters[1])).toBe('cpu tcp://127.0.0.1:9786 (stopped)');
    expect(dashboardLabel(dashboards[0])).toBe('sales (notebooks/sales.ipynb)');
    expect(dashboardLabel(dashboards[1])).toBe('old (notebooks/sales.ipynb) (stopped)');
  });
});
