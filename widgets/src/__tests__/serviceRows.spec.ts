import { CommandIDs } from '../commandIds';
import { ClusterRow, DashboardRow } from '../sidebar/serviceRows';
import { byClass, commandsOf, text } from './elements';
import { cluster, dashboard } from './fixtures';

const NOW = 1060;

describe('ClusterRow', () => {
  it('shows a running cluster with its dashboard, code and stop', () => {
    const run = jest.fn();
    const row = ClusterRow({ cluster: cluster({}), now: NOW, run });
    expect(row.props['data-status']).toBe('running');
    expect(byClass(row, 'wb-stopped')).toEqual([]);
    expect(commandsOf(row, run)).toEqual({
      'wb-cluster-dashboard': [CommandIDs.openClusterDashboard, { id: 'c1' }],
      'wb-cluster-insert': [CommandIDs.insertClusterCode, { id: 'c1' }],
      'wb-cluster-stop': [CommandIDs.stopCluster, { id: 'c1' }]
    });
    expect(text(byClass(row, 'wb-cluster-stop'))).toBe('Stop');
  });
  it('shows a stopped cluster as stopped, without its dashboard, still removable', () => {
    const run = jest.fn();
    const stopped = cluster({ status: 'stopped', dashboard_link: '' });
    const row = ClusterRow({ cluster: stopped, now: NOW, run });
    expect(row.props['data-status']).toBe('stopped');
    expect(text(byClass(row, 'wb-stopped'))).toBe('stopped · ');
    expect(text(byClass(row, 'wb-row-head'))).toBe('cpustopped · 1 min ago');
    expect(commandsOf(row, run)).toEqual({
      'wb-cluster-insert': [CommandIDs.insertClusterCode, { id: 'c1' }],
      'wb-cluster-stop': [CommandIDs.stopCluster, { id: 'c1' }]
    });
    expect(text(byClass(row, 'wb-cluster-stop'))).toBe('Remove');
  });
  it('offers no dashboard for a stopped cluster even with a link', () => {
    const row = ClusterRow({ cluster: cluster({ status: 'stopped' }), now: NOW, run: jest.fn() });
    expect(byClass(row, 'wb-cluster-dashboard')).toEqual([]);
  });
});

describe('DashboardRow', () => {
  const args = { id: 'd1', url: '/proxy/8866/' };
  it('shows a running dashboard with its links and stop', () => {
    const run = jest.fn();
    const row = DashboardRow({ dashboard: dashboard({}), now: NOW, run });
    expect(row.props['data-status']).toBe('running');
    expect(byClass(row, 'wb-stopped')).toEqual([]);
    expect(commandsOf(row, run)).toEqual({
      'wb-dashboard-open': [CommandIDs.openDashboard, args],
      'wb-dashboard-browser': [CommandIDs.openDashboardInBrowser, args],
      'wb-dashboard-stop': [CommandIDs.stopDashboard, args]
    });
  });
  it('shows a stopped dashboard as stopped, with nothing to open, still removable', () => {
    const run = jest.fn();
    const row = DashboardRow({ dashboard: dashboard({ status: 'stopped' }), now: NOW, run });
    expect(row.props['data-status']).toBe('stopped');
    expect(text(byClass(row, 'wb-row-head'))).toBe('salesstopped · 1 min ago');
    expect(commandsOf(row, run)).toEqual({
      'wb-dashboard-stop': [CommandIDs.stopDashboard, args]
    });
    expect(text(byClass(row, 'wb-dashboard-stop'))).toBe('Remove');
  });
});
