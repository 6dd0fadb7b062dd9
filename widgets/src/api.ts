/**
 * A typed client of the Workbench REST API (docs/rest-api.md), served by the
 * server extension under `{baseUrl}workbench/api/`. Requests go through
 * `ServerConnection.makeRequest`, which adds the token or the XSRF header.
 * Every failure is an `ApiError` with the HTTP status (0 when the server gave
 * no answer) and the server's message.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  IClusterList,
  IDashboard,
  IDashboardList,
  IEndpointList,
  IErrorBody,
  IIngestRequest,
  ILakeList,
  IPublishRequest,
  IResources,
  IRunDetail,
  IRunList,
  ISniff,
  IStopped,
  IStopping,
  ITableDetail,
  ITask,
  ITaskStarted
} from './types';

/** The API's namespace under the server's base URL. */
export const API_PATH = 'workbench/api';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The message to show for any error a request or a command raised. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}

/** The HTTP status an error carries; 0 when the server gave no answer. */
export function statusOf(error: unknown): number {
  return error instanceof ApiError ? error.status : 0;
}

type Query = { [key: string]: string | number | undefined };

export class WorkbenchApi {
  constructor(
    readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  /** A URL the server sent (absolute, or relative to the server) made absolute. */
  absoluteUrl(url: string): string {
    return new URL(url, this.settings.baseUrl).href;
  }

  clusters(): Promise<IClusterList> {
    return this.request('GET', 'clusters');
  }

  stopCluster(id: string): Promise<IStopped> {
    return this.request('DELETE', `clusters/${enc(id)}`);
  }

  tables(lake?: string): Promise<ILakeList> {
    return this.request('GET', 'tables', { lake });
  }

  table(name: string, lake?: string, rows?: number): Promise<ITableDetail> {
    return this.request('GET', `tables/${enc(name)}`, { lake, rows });
  }

  computeProfile(name: string, lake?: string): Promise<ITaskStarted> {
    return this.request('POST', `tables/${enc(name)}/profile`, { lake });
  }

  sniff(path: string): Promise<ISniff> {
    return this.request('GET', 'sniff', { path });
  }

  ingest(body: IIngestRequest): Promise<ITaskStarted> {
    return this.request('POST', 'tables', {}, body);
  }

  task(id: string): Promise<ITask> {
    return this.request('GET', `tasks/${enc(id)}`);
  }

  runs(): Promise<IRunList> {
    return this.request('GET', 'runs');
  }

  run(id: string): Promise<IRunDetail> {
    return this.request('GET', `runs/${enc(id)}`);
  }

  stopRun(id: string): Promise<IStopping> {
    return this.request('POST', `runs/${enc(id)}/stop`);
  }

  dashboards(): Promise<IDashboardList> {
    return this.request('GET', 'dashboards');
  }

  publish(body: IPublishRequest): Promise<IDashboard> {
    return this.request('POST', 'dashboards', {}, body);
  }

  stopDashboard(id: string): Promise<IStopped> {
    return this.request('DELETE', `dashboards/${enc(id)}`);
  }

  endpoints(): Promise<IEndpointList> {
    return this.request('GET', 'endpoints');
  }

  stopEndpoint(id: string): Promise<IStopping> {
    return this.request('DELETE', `endpoints/${enc(id)}`);
  }

  resources(): Promise<IResources> {
    return this.request('GET', 'resources');
  }

  private async request<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    query: Query = {},
    body?: object
  ): Promise<T> {
    const params: { [key: string]: string } = {};
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) {
        params[key] = String(value);
      }
    }
    const url =
      URLExt.join(this.settings.baseUrl, API_PATH, path) +
      URLExt.objectToQueryString(params);
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (error) {
      throw new ApiError(
        0,
        `The Jupyter server did not answer (${errorMessage(error)})`
      );
    }
    const text = await response.text();
    let data: unknown = null;
    try {
      data = text.length > 0 ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      const message =
        data !== null && typeof (data as IErrorBody).message === 'string'
          ? (data as IErrorBody).message
          : `${response.status} ${response.statusText || 'error'}`;
      throw new ApiError(response.status, message);
    }
    return data as T;
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}
