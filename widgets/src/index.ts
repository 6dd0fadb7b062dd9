/**
 * The Workbench extension for JupyterLab 4 and Notebook 7: the sidebar
 * (clusters, lake tables, runs, dashboards), the status-bar item (CPU,
 * memory, GPUs), "Ingest into lake…" in the file browser, "Publish" in the
 * notebook toolbar, and their commands. The menus, the context-menu entry
 * and the toolbar button are declared in schema/plugin.json.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';

import { WorkbenchApi } from './api';
import { ServerAvailability } from './availability';
import { CommandIDs } from './commandIds';
import { registerCommands } from './commands';
import { MainAreaTabs } from './mainArea';
import { refreshIntervalMs } from './poll';
import { SIDEBAR_ID, WorkbenchSidebar } from './sidebar/sidebar';
import { ResourcesItem } from './statusbar';

const PLUGIN_ID = '@workbench-ai/jupyterlab:plugin';

/** The commands the palette lists, in its "Workbench" category. */
const PALETTE_COMMANDS = [
  CommandIDs.showSidebar,
  CommandIDs.refresh,
  CommandIDs.openClusterDashboard,
  CommandIDs.insertClusterCode,
  CommandIDs.stopCluster,
  CommandIDs.openTable,
  CommandIDs.ingest,
  CommandIDs.openRun,
  CommandIDs.stopRun,
  CommandIDs.openDashboard,
  CommandIDs.openDashboardInBrowser,
  CommandIDs.stopDashboard,
  CommandIDs.publishNotebook,
  CommandIDs.publishFile,
  CommandIDs.stopEndpoint
];

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'The Workbench sidebar, status-bar item, ingest and publish commands, over the workbench server extension.',
  autoStart: true,
  requires: [IRenderMimeRegistry],
  optional: [
    ISettingRegistry,
    ICommandPalette,
    ILayoutRestorer,
    IStatusBar,
    INotebookTracker,
    IFileBrowserFactory,
    IDocumentManager
  ],
  activate: (
    app: JupyterFrontEnd,
    rendermime: IRenderMimeRegistry,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    statusBar: IStatusBar | null,
    notebooks: INotebookTracker | null,
    browsers: IFileBrowserFactory | null,
    docManager: IDocumentManager | null
  ): void => {
    const api = new WorkbenchApi(app.serviceManager.serverSettings);
    const availability = new ServerAvailability(api);
    let refreshMs = refreshIntervalMs(undefined);

    const sidebar = new WorkbenchSidebar({
      api,
      availability,
      commands: app.commands,
      refreshMs
    });
    app.shell.add(sidebar, 'left', { rank: 600 });
    restorer?.add(sidebar, SIDEBAR_ID);

    let resources: ResourcesItem | null = null;
    if (statusBar !== null) {
      const item = new ResourcesItem(api, availability, refreshMs);
      statusBar.registerStatusItem(`${PLUGIN_ID}:resources`, {
        item,
        align: 'left',
        rank: 100,
        isActive: () => item.isActive,
        activeStateChanged: item.activeStateChanged
      });
      resources = item;
    }

    registerCommands({
      app,
      api,
      sidebar,
      tabs: new MainAreaTabs(app.shell),
      rendermime,
      refreshMs: () => refreshMs,
      notebooks,
      browsers,
      docManager
    });
    for (const command of PALETTE_COMMANDS) {
      palette?.addItem({ command, category: 'Workbench' });
    }

    if (settingRegistry !== null) {
      const apply = (settings: ISettingRegistry.ISettings) => {
        refreshMs = refreshIntervalMs(settings.get('refreshInterval').composite);
        sidebar.setRefreshInterval(refreshMs);
        resources?.setRefreshInterval(refreshMs);
      };
      settingRegistry.load(PLUGIN_ID).then(
        settings => {
          apply(settings);
          settings.changed.connect(apply);
        },
        reason => console.warn(`${PLUGIN_ID}: settings not loaded, refreshing every 2 s`, reason)
      );
    }
  }
};

export default plugin;
