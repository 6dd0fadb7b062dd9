import * as React from 'react';

import { CommandIDs } from '../commandIds';
import { ClusterRow, DashboardRow } from '../sidebar/serviceRows';
import { cluster, dashboard } from './fixtures';

const NOW = 1060;

type Element = React.ReactElement<{ [prop: string]: unknown }>;

/** Every element of a rendered tree, depth first (the rows use plain elements only). */
function elements(node: React.ReactNode): Element[] {
  if (Array.isArray(node)) {
    return node.flatMap(elements);
  }
  if (!React.isValidElement(node)) {
    return [];
  }
  const element = node as Element;
  return [element, ...elements(element.props.children as React.ReactNode)];
}

/** The text a tree shows, in order. */
function text(node: React.ReactNode): string {
  if (typeof node === 'string' || typeof node === 'number') {
    return String(node);
  }
  if (Array.isArray(node)) {
    return node.map(text).join('');
  }
  return React.isValidElement(node)
    ? text((node as Element).props.children as React.ReactNode)
    : '';
}

function byClass(root: React.ReactElement, name: string): Element[] {
  return elements(root).filter(element =>
    String(element.props.className ?? '')
      .split(' ')
      .includes(name)
  );
}

/** The command each button of a row runs, by the button's class. */
function commandsOf(root: React.ReactElement, run: jest.Mock): { [button: string]: unknown } {
  const ran: { [button: string]: unknown } = {};
  for (const button of elements(root).filter(element => element.type === 'button')) {
    run.mockClear();
    (button.props.onClick as () => void)();
    ran[String(button.props.className).split(' ').pop() as string] = run.mock.calls[0];
  }
  return ran;
}

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
