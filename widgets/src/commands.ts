/**
 * Every Workbench command. The sidebar's buttons run them with the thing's id
 * as an argument; from the palette or the menu, without one, a command asks
 * which thing (or takes the only one). A command never rejects: a failure is
 * a notification naming what failed and the server's message.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Dialog,
  InputDialog,
  MainAreaWidget,
  Notification,
  showDialog
} from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { FileDialog, IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { WorkbenchApi, errorMessage } from './api';
import {
  Refusal,
  clusterLabel,
  dashboardLabel,
  endpointLabel,
  named,
  offered,
  refuseNone,
  refuseStoppedCluster,
  refuseStoppedDashboard,
  refuseStoppingEndpoint
} from './choice';
import { CommandIDs } from './commandIds';
import { workbenchIcon } from './icons';
import { ingestFiles } from './ingest';
import { MainAreaTabs } from './mainArea';
import {
  clusterSnippet,
  clusterStoppedMessage,
  stopClusterConsequence,
  stopEndpointConsequence
} from './messages';
import { isIngestible } from './paths';
import { publishNotebook } from './publish';
import { RunPanel } from './runPanel';
import { SIDEBAR_ID, WorkbenchSidebar } from './sidebar/sidebar';
import { TablePanel } from './tablePanel';

export interface ICommandsContext {
  app: JupyterFrontEnd;
  api: WorkbenchApi;
  sidebar: WorkbenchSidebar;
  tabs: MainAreaTabs;
  rendermime: IRenderMimeRegistry;
  /** The refresh interval in milliseconds, as the settings say now. */
  refreshMs: () => number;
  notebooks: INotebookTracker | null;
  browsers: IFileBrowserFactory | null;
  docManager: IDocumentManager | null;
}

type Args = ReadonlyPartialJSONObject;

function stringArg(args: Args, name: string): string | undefined {
  const value = args[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** The command's work, with any failure shown as a notification instead of rejecting. */
function guarded(
  what: string,
  work: (args: Args) => Promise<unknown> | void
): (args: Args) => Promise<void> {
  return async args => {
    try {
      await work(args);
    } catch (error) {
      Notification.error(`${what} failed: ${errorMessage(error)}`, { autoClose: false });
    }
  };
}

/**
 * The item whose `key` is `id`, or, without an id, the one the user picks
 * (the only one without asking) among those `refuse` lets through. Null when
 * there is none or the user cancels; an id the command refuses throws why.
 */
async function choose<T>(
  listed: T[],
  key: (item: T) => string,
  id: string | undefined,
  options: { title: string; label: (item: T) => string; none: string; refuse?: Refusal<T> }
): Promise<T | null> {
  const refuse = options.refuse ?? refuseNone;
  if (id !== undefined) {
    return named(listed, key, id, refuse);
  }
  const items = offered(listed, refuse);
  if (items.length === 0) {
    Notification.info(options.none, { autoClose: 5000 });
    return null;
  }
  if (items.length === 1) {
    return items[0];
  }
  const labels = items.map(options.label);
  const result = await InputDialog.getItem({ title: options.title, items: labels });
  if (!result.button.accept || result.value === null) {
    return null;
  }
  return items[labels.indexOf(result.value)] ?? null;
}

export function registerCommands(context: ICommandsContext): void {
  const { app, api, sidebar, tabs, notebooks, browsers, docManager } = context;
  const { commands, shell } = app;

  commands.addCommand(CommandIDs.showSidebar, {
    label: 'Show Workbench Sidebar',
    icon: args => (args.toolbar ? workbenchIcon : undefined),
    execute: () => shell.activateById(SIDEBAR_ID)
  });

  commands.addCommand(CommandIDs.refresh, {
    label: 'Refresh Workbench Sidebar',
    execute: () => sidebar.refresh()
  });

  // Clusters

  const pickCluster = async (
    args: Args,
    title: string,
    which: { ownedOnly?: boolean; runningOnly?: boolean } = {}
  ) => {
    const { clusters } = await api.clusters();
    return choose(
      clusters.filter(c => c.owned || !which.ownedOnly),
      c => c.id,
      stringArg(args, 'id'),
      {
        title,
        label: clusterLabel,
        none: which.ownedOnly
          ? 'No cluster started by Workbench is running.'
          : 'No cluster is running.',
        refuse: which.runningOnly ? refuseStoppedCluster : undefined
      }
    );
  };

  commands.addCommand(CommandIDs.openClusterDashboard, {
    label: 'Open Dask Dashboard…',
    caption: "Open a cluster's Dask dashboard in a tab",
    execute: guarded('Opening the Dask dashboard', async args => {
      const cluster = await pickCluster(args, 'Open the Dask dashboard of', {
        runningOnly: true
      });
      if (cluster === null) {
        return;
      }
      if (!cluster.dashboard_link) {
        throw new Error(`the cluster at ${cluster.address} has no dashboard`);
      }
      tabs.openFrame(
        `cluster-${cluster.id}`,
        api.absoluteUrl(cluster.dashboard_link),
        `Dask ${cluster.address}`
      );
    })
  });

  commands.addCommand(CommandIDs.insertClusterCode, {
    label: 'Insert Cluster Connection Code…',
    caption: 'Insert the code that joins a cluster into a new cell of the active notebook',
    isEnabled: () => notebooks !== null,
    execute: guarded('Inserting the cluster code', async args => {
      const panel = notebooks?.currentWidget ?? null;
      if (panel === null) {
        Notification.warning('Open a notebook first: the code goes into a new cell of it.', {
          autoClose: 5000
        });
        return;
      }
      const cluster = await pickCluster(args, 'Insert the code that joins');
      if (cluster === null) {
        return;
      }
      NotebookActions.insertBelow(panel.content);
      panel.content.activeCell?.model.sharedModel.setSource(clusterSnippet(cluster.address));
      shell.activateById(panel.id);
    })
  });

  commands.addCommand(CommandIDs.stopCluster, {
    label: 'Stop Cluster…',
    caption: 'Stop a cluster Workbench started: its scheduler and workers',
    execute: guarded('Stopping the cluster', async args => {
      const cluster = await pickCluster(args, 'Stop the cluster', { ownedOnly: true });
      if (cluster === null) {
        return;
      }
      const answer = await showDialog({
        title: 'Stop the cluster?',
        body: stopClusterConsequence(cluster),
        buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Stop' })]
      });
      if (!answer.button.accept) {
        return;
      }
      await api.stopCluster(cluster.id);
      Notification.success(clusterStoppedMessage(cluster), { autoClose: 5000 });
      await sidebar.clusters.refresh();
    })
  });

  // Lake

  const openTable = (name: string, lake: string | undefined) =>
    tabs.open(`table-${lake ?? ''}-${name}`, () => {
      const content = new TablePanel({ api, rendermime: context.rendermime, name, lake });
      const tab = new MainAreaWidget({ content });
      tab.title.label = `Table ${name}`;
      tab.title.caption = lake ? `${name} (lake ${lake})` : name;
      return tab;
    });

  commands.addCommand(CommandIDs.openTable, {
    label: 'Open Lake Table…',
    caption: "Open a lake table's panel: schema, preview, versions, quarantine, profile",
    execute: guarded('Opening the table', async args => {
      const name = stringArg(args, 'name');
      const lake = stringArg(args, 'lake');
      if (name !== undefined) {
        openTable(name, lake);
        return;
      }
      const { lakes } = await api.tables();
      const tables: { lake: string; name: string }[] = [];
      for (const l of lakes) {
        for (const t of l.tables.filter(t => t.error === null)) {
          tables.push({ lake: l.name, name: t.name });
        }
      }
      const table = await choose(tables, t => `${t.lake}/${t.name}`, undefined, {
        title: 'Open the table',
        label: t => (lakes.length > 1 ? `${t.lake}: ${t.name}` : t.name),
        none: 'The lake has no table yet.'
      });
      if (table !== null) {
        openTable(table.name, table.lake);
      }
    })
  });

  const selectedPaths = (): string[] => {
    const browser = browsers?.tracker.currentWidget ?? null;
    return browser === null ? [] : Array.from(browser.selectedItems(), item => item.path);
  };
  const ingestible = (paths: string[]) => paths.length > 0 && paths.every(isIngestible);

  commands.addCommand(CommandIDs.ingest, {
    label: 'Ingest into Lake…',
    caption: 'Ingest the selected CSV, JSON, JSON lines or Parquet files into a lake table',
    icon: workbenchIcon,
    isEnabled: () => ingestible(selectedPaths()),
    isVisible: () => ingestible(selectedPaths()),
    execute: guarded('Ingesting', async () => {
      await ingestFiles(api, selectedPaths(), (name, lake) => {
        openTable(name, lake);
        void sidebar.lake.refresh();
      });
    })
  });

  // Runs

  const pickRun = async (args: Args, title: string, runningOnly = false) => {
    const { runs } = await api.runs();
    return choose(
      runs.filter(r => r.status === 'running' || !runningOnly),
      r => r.id,
      stringArg(args, 'id'),
      {
        title,
        label: r => `${r.name} (${r.status}, ${r.id})`,
        none: runningOnly ? 'No run is running.' : 'No training run yet.'
      }
    );
  };

  commands.addCommand(CommandIDs.openRun, {
    label: 'Open Training Run…',
    caption: "Open a run's panel: throughput, loss, traceback",
    execute: guarded('Opening the run', async args => {
      const run = await pickRun(args, 'Open the run');
      if (run === null) {
        return;
      }
      tabs.open(`run-${run.id}`, () => {
        const content = new RunPanel({
          api,
          rendermime: context.rendermime,
          commands,
          id: run.id,
          refreshMs: context.refreshMs()
        });
        const tab = new MainAreaWidget({ content });
        tab.title.label = `Run ${run.name}`;
        return tab;
      });
    })
  });

  commands.addCommand(CommandIDs.stopRun, {
    label: 'Stop Training Run…',
    caption: 'Ask a running run to stop (it saves its checkpoint between steps)',
    execute: guarded('Stopping the run', async args => {
      const run = await pickRun(args, 'Stop the run', true);
      if (run === null) {
        return;
      }
      await api.stopRun(run.id);
      Notification.info(`Asked ${run.name} to stop.`, { autoClose: 5000 });
      await sidebar.runs.refresh();
    })
  });

  // Dashboards

  const pickDashboard = async (args: Args, title: string, runningOnly = false) => {
    const { dashboards } = await api.dashboards();
    return choose(dashboards, d => d.id, stringArg(args, 'id'), {
      title,
      label: dashboardLabel,
      none: runningOnly ? 'No dashboard is running.' : 'No dashboard is published.',
      refuse: runningOnly ? refuseStoppedDashboard : undefined
    });
  };

  commands.addCommand(CommandIDs.openDashboard, {
    label: 'Open Dashboard in a Tab…',
    caption: 'Open a published dashboard in a JupyterLab tab',
    execute: guarded('Opening the dashboard', async args => {
      const dashboard = await pickDashboard(args, 'Open the dashboard', true);
      if (dashboard !== null) {
        tabs.openFrame(`dashboard-${dashboard.id}`, api.absoluteUrl(dashboard.url), dashboard.name);
      }
    })
  });

  commands.addCommand(CommandIDs.openDashboardInBrowser, {
    label: 'Open Dashboard in a Browser Tab…',
    caption: 'Open a published dashboard in a new browser tab',
    execute: guarded('Opening the dashboard', async args => {
      // Given its URL (the sidebar's button), the tab opens within the click.
      const url = stringArg(args, 'url');
      if (url !== undefined) {
        window.open(api.absoluteUrl(url), '_blank');
        return;
      }
      const dashboard = await pickDashboard(args, 'Open the dashboard', true);
      if (dashboard !== null) {
        window.open(api.absoluteUrl(dashboard.url), '_blank');
      }
    })
  });

  commands.addCommand(CommandIDs.stopDashboard, {
    label: 'Stop Dashboard…',
    caption: "Stop a dashboard's Voila server",
    execute: guarded('Stopping the dashboard', async args => {
      const dashboard = await pickDashboard(args, 'Stop the dashboard');
      if (dashboard === null) {
        return;
      }
      await api.stopDashboard(dashboard.id);
      Notification.success(`Stopped the dashboard ${dashboard.name}.`, { autoClose: 5000 });
      await sidebar.dashboards.refresh();
    })
  });

  commands.addCommand(CommandIDs.publishNotebook, {
    label: args => (args.toolbar ? 'Publish' : 'Publish Notebook as Dashboard'),
    caption: 'Save this notebook and publish it as a Voila dashboard in a new browser tab',
    icon: args => (args.toolbar ? workbenchIcon : undefined),
    isEnabled: () => notebooks?.currentWidget != null,
    execute: guarded('Publishing', async () => {
      const panel = notebooks?.currentWidget ?? null;
      if (panel === null) {
        return;
      }
      const published = await publishNotebook(api, panel.context.path, async () => {
        if (panel.context.model.dirty) {
          await panel.context.save();
        }
      });
      if (published !== null) {
        await sidebar.dashboards.refresh();
      }
    })
  });

  commands.addCommand(CommandIDs.publishFile, {
    label: 'Publish a Notebook as Dashboard…',
    caption: 'Choose a notebook and publish it as a Voila dashboard',
    isEnabled: () => docManager !== null,
    execute: guarded('Publishing', async () => {
      if (docManager === null) {
        return;
      }
      const result = await FileDialog.getOpenFiles({
        manager: docManager,
        title: 'Publish a notebook as a dashboard',
        filter: model =>
          model.type === 'notebook' || model.type === 'directory' ? {} : null
      });
      const notebook = (result.value ?? []).find(model => model.type === 'notebook');
      if (!result.button.accept || notebook === undefined) {
        return;
      }
      const published = await publishNotebook(api, notebook.path);
      if (published !== null) {
        await sidebar.dashboards.refresh();
      }
    })
  });

  // Endpoints

  commands.addCommand(CommandIDs.stopEndpoint, {
    label: 'Stop Model Endpoint…',
    caption: 'Stop a model endpoint served with wb.infer.serve: it closes its port',
    execute: guarded('Stopping the endpoint', async args => {
      const { endpoints } = await api.endpoints();
      const endpoint = await choose(endpoints, e => e.id, stringArg(args, 'id'), {
        title: 'Stop the endpoint',
        label: endpointLabel,
        none: 'No model endpoint is serving.',
        refuse: refuseStoppingEndpoint
      });
      if (endpoint === null) {
        return;
      }
      const answer = await showDialog({
        title: 'Stop the endpoint?',
        body: stopEndpointConsequence(endpoint),
        buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Stop' })]
      });
      if (!answer.button.accept) {
        return;
      }
      await api.stopEndpoint(endpoint.id);
      Notification.info(`Asked the endpoint at ${endpoint.url} to stop.`, { autoClose: 5000 });
      await sidebar.endpoints.refresh();
    })
  });
}
