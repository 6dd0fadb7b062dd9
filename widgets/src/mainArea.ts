/**
 * Main-area tabs opened from the sidebar and the commands: one tab per thing
 * (a table, a run, a dashboard), activated again rather than opened twice.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { IFrame } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { workbenchIcon } from './icons';

export class MainAreaTabs {
  constructor(private readonly shell: JupyterFrontEnd.IShell) {}

  /** Activate the tab opened under `key`, or add the one `create` makes. */
  open<T extends Widget>(key: string, create: () => MainAreaWidget<T>): MainAreaWidget<T> {
    const existing = this._tabs.get(key) as MainAreaWidget<T> | undefined;
    if (existing && !existing.isDisposed) {
      this.shell.activateById(existing.id);
      return existing;
    }
    const tab = create();
    tab.id = `workbench-${key.replace(/[^A-Za-z0-9_-]/g, '-')}-${++this._count}`;
    tab.title.icon = workbenchIcon;
    tab.title.closable = true;
    this._tabs.set(key, tab);
    tab.disposed.connect(() => this._tabs.delete(key));
    this.shell.add(tab, 'main');
    this.shell.activateById(tab.id);
    return tab;
  }

  /** A page of another server (a Dask or a Voila dashboard) in a tab. */
  openFrame(key: string, url: string, label: string): void {
    this.open(key, () => {
      const frame = new IFrame({
        sandbox: ['allow-scripts', 'allow-same-origin', 'allow-forms', 'allow-popups'],
        referrerPolicy: 'no-referrer'
      });
      frame.url = url;
      frame.addClass('wb-frame');
      const tab = new MainAreaWidget({ content: frame });
      tab.title.label = label;
      tab.title.caption = url;
      return tab;
    });
  }

  private readonly _tabs = new Map<string, MainAreaWidget<Widget>>();
  private _count = 0;
}
