/**
 * The status-bar item: CPU %, memory used / limit and, where there are GPUs,
 * their utilization and memory, from `GET resources` (the server shares one
 * sampler across all clients; this page polls it once). Without a GPU the
 * item shows none, and its tooltip says so.
 */
import { TextItem } from '@jupyterlab/statusbar';
import { ReactWidget } from '@jupyterlab/ui-components';
import { ISignal, Signal } from '@lumino/signaling';
import * as React from 'react';

import { WorkbenchApi, statusOf } from './api';
import { ServerAvailability } from './availability';
import { resourceSummary } from './messages';
import { Availability } from './poll';
import { PolledValue } from './polledValue';
import { IResources } from './types';

export class ResourcesItem extends ReactWidget {
  constructor(
    api: WorkbenchApi,
    private readonly availability: ServerAvailability,
    refreshMs: number
  ) {
    super();
    this.addClass('wb-status-item');
    this._value = new PolledValue<IResources>({
      fetch: () => api.resources(),
      refreshMs,
      standby: () => (availability.state !== 'available' ? true : 'when-hidden'),
      name: '@workbench-ai/jupyterlab:resources',
      onError: error => availability.report(statusOf(error)),
      onChange: () => {
        this._activeStateChanged.emit();
        this.update();
      }
    });
    availability.changed.connect(this._onAvailability, this);
  }

  /** Whether there is a snapshot to show (the status bar hides the item otherwise). */
  get isActive(): boolean {
    return this.availability.state === 'available' && this._value.state.data !== null;
  }

  get activeStateChanged(): ISignal<this, void> {
    return this._activeStateChanged;
  }

  setRefreshInterval(ms: number): void {
    this._value.setRefreshInterval(ms);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._value.dispose();
    this.availability.changed.disconnect(this._onAvailability, this);
    super.dispose();
  }

  protected render(): React.ReactElement | null {
    const { data, error } = this._value.state;
    if (data === null) {
      return null;
    }
    const summary = resourceSummary(data);
    this.toggleClass('wb-mod-no-gpu', !summary.hasGpu);
    this.toggleClass('wb-mod-stale', error !== null);
    const tooltip =
      error === null ? summary.tooltip : `${summary.tooltip}\n(not updated: ${error})`;
    return <TextItem source={summary.text} title={tooltip} />;
  }

  private _onAvailability(_: ServerAvailability, state: Availability): void {
    this._activeStateChanged.emit();
    if (state === 'available') {
      void this._value.refresh();
    }
  }

  private readonly _value: PolledValue<IResources>;
  private readonly _activeStateChanged = new Signal<this, void>(this);
}
