/**
 * The Workbench sidebar: Clusters, Lake, Runs, Dashboards and Endpoints as
 * collapsible sections of one side panel. While the server extension does not
 * answer (a 404 from its routes) the sections give way to one message saying
 * how to enable it.
 */
import { SidePanel } from '@jupyterlab/ui-components';
import { PanelLayout, Widget } from '@lumino/widgets';

import { ServerAvailability } from '../availability';
import { workbenchIcon } from '../icons';
import { Availability } from '../poll';
import { ClustersSection } from './clusters';
import { DashboardsSection } from './dashboards';
import { EndpointsSection } from './endpoints';
import { LakeSection } from './lake';
import { RunsSection } from './runs';
import { ISectionContext, PolledSection } from './section';

export const SIDEBAR_ID = 'workbench-sidebar';

/** The command that enables the server extension, as the missing-server message names it. */
export const ENABLE_COMMAND = 'jupyter server extension enable workbench.server';

export class WorkbenchSidebar extends SidePanel {
  constructor(context: ISectionContext) {
    super();
    this.id = SIDEBAR_ID;
    this.addClass('wb-sidebar');
    this.title.icon = workbenchIcon;
    this.title.caption = 'Workbench';

    const heading = new Widget({ node: document.createElement('h2') });
    heading.addClass('wb-sidebar-title');
    heading.node.textContent = 'Workbench';
    this.header.addWidget(heading);

    this._missing = new Widget();
    this._missing.addClass('wb-missing');
    this._missing.node.setAttribute('role', 'alert');
    const command = document.createElement('code');
    command.textContent = ENABLE_COMMAND;
    this._missing.node.append(
      'The Workbench server extension is not enabled: run ',
      command,
      ' and restart the Jupyter server.'
    );
    // Between the header and the sections, in their place while they are hidden.
    (this.layout as PanelLayout).insertWidget(1, this._missing);

    this.clusters = new ClustersSection(context);
    this.lake = new LakeSection(context);
    this.runs = new RunsSection(context);
    this.dashboards = new DashboardsSection(context);
    this.endpoints = new EndpointsSection(context);
    for (const section of this._sections()) {
      this.addWidget(section);
    }

    this._availability = context.availability;
    this._availability.changed.connect(this._show, this);
    this._show(this._availability, this._availability.state);
  }

  readonly clusters: ClustersSection;
  readonly lake: LakeSection;
  readonly runs: RunsSection;
  readonly dashboards: DashboardsSection;
  readonly endpoints: EndpointsSection;

  /** Ask every section now. */
  async refresh(): Promise<void> {
    await Promise.all(this._sections().map(section => section.refresh()));
  }

  setRefreshInterval(ms: number): void {
    for (const section of this._sections()) {
      section.setRefreshInterval(ms);
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._availability.changed.disconnect(this._show, this);
    super.dispose();
  }

  private _sections(): PolledSection<unknown>[] {
    return [this.clusters, this.lake, this.runs, this.dashboards, this.endpoints];
  }

  private _show(_: ServerAvailability, state: Availability): void {
    const missing = state === 'missing';
    this._missing.setHidden(!missing);
    this.content.setHidden(missing);
  }

  private readonly _missing: Widget;
  private readonly _availability: ServerAvailability;
}
