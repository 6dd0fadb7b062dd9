/**
 * Publishing a notebook as a Voila dashboard (`POST dashboards`; the server
 * owns the Voila process) and opening it in a new browser tab.
 */
import { Notification } from '@jupyterlab/apputils';

import { WorkbenchApi, errorMessage } from './api';
import { basename } from './paths';
import { settleNotification } from './tasks';
import { IDashboard } from './types';

/**
 * Publish the notebook at `path` (relative to the server's root) and open the
 * dashboard in a new browser tab. Call it straight from a click: the tab is
 * opened before anything is awaited (browsers block tabs opened later) and
 * shows the dashboard once the server answers. `beforePublish` runs first
 * (saving the notebook). Resolves with the dashboard, or null after a
 * failure, which a notification reports.
 */
export async function publishNotebook(
  api: WorkbenchApi,
  path: string,
  beforePublish: () => Promise<void> = async () => undefined
): Promise<IDashboard | null> {
  const tab = window.open('', '_blank');
  const name = basename(path);
  if (tab !== null) {
    tab.document.title = `Publishing ${name}…`;
    tab.document.body.textContent = `Publishing ${name} as a dashboard…`;
  }
  const note = Notification.emit(`Publishing ${name}…`, 'in-progress', {
    autoClose: false
  });
  try {
    await beforePublish();
    const dashboard = await api.publish({ notebook: path });
    const url = api.absoluteUrl(dashboard.url);
    if (tab !== null && !tab.closed) {
      tab.location.href = url;
    }
    settleNotification(note, 'success', `Published ${name} at ${url}`, [
      { label: 'Open', callback: () => window.open(url, '_blank') }
    ]);
    return dashboard;
  } catch (error) {
    tab?.close();
    settleNotification(note, 'error', `Publishing ${name} failed: ${errorMessage(error)}`);
    return null;
  }
}
