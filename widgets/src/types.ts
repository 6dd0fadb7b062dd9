/**
 * The JSON shapes of the Workbench REST API (docs/rest-api.md), one
 * interface per object the server sends or accepts. Times are seconds since
 * the epoch (UTC floats), sizes bytes, rates per second.
 */

/** A plotly figure as the server builds it (`{"data": [...], "layout": {...}}`). */
export interface IFigure {
  data: IFigureTrace[];
  layout?: { [key: string]: unknown };
}

/**
 * One plotly trace; only the fields the plain-table fallback reads are named.
 * The server sends its arrays as plain lists (not plotly's base64 typed arrays).
 */
export interface IFigureTrace {
  type?: string;
  name?: string;
  x?: unknown[];
  y?: unknown[];
  [key: string]: unknown;
}

/** The body of every error answer. */
export interface IErrorBody {
  message: string;
}

/**
 * A cluster's or a dashboard's state: running while its address answers;
 * a stopped one has nothing to open but can still be stopped (its entry goes).
 */
export type ServiceStatus = 'running' | 'stopped';

// GET clusters, DELETE clusters/{id}

export interface ICluster {
  id: string;
  address: string;
  kind: string;
  status: ServiceStatus;
  workers: number;
  threads: number;
  memory: number;
  gpus: number;
  dashboard_link: string | null;
  pid: number | null;
  created: number;
  owned: boolean;
}

export interface IClusterList {
  clusters: ICluster[];
}

// GET tables, GET tables/{name}

/** A table row of a lake listing; every field but `name` is null when `error` is set. */
export interface ITableRow {
  name: string;
  version: number | null;
  rows: number | null;
  bytes: number | null;
  columns: number | null;
  quarantined: number | null;
  updated: number | null;
  error: string | null;
}

export interface ILake {
  name: string;
  uri: string;
  error: string | null;
  tables: ITableRow[];
}

export interface ILakeList {
  lakes: ILake[];
}

export interface ISchemaField {
  name: string;
  type: string;
  nullable: boolean;
}

export interface IPreview {
  columns: string[];
  rows: unknown[][];
}

export interface IHistoryEntry {
  version: number;
  timestamp: number;
  operation: string;
  rows_in: number | null;
  rows_written: number | null;
  rows_quarantined: number | null;
  duplicates_dropped: number | null;
}

export interface IQuarantineReason {
  kind: string;
  count: number;
}

export interface IQuarantineRow {
  source: string;
  line: number | null;
  column: string | null;
  reason: string;
  raw: string | null;
}

export interface IQuarantine {
  total: number;
  reasons: IQuarantineReason[];
  rows: IQuarantineRow[];
}

/** One column's statistics; numeric stats are null for columns without them. */
export interface IColumnProfile {
  column: string;
  type: string;
  count: number;
  nulls: number;
  null_fraction: number;
  distinct: number | null;
  min: unknown;
  max: unknown;
  mean: number | null;
  std: number | null;
  p50: number | null;
  [stat: string]: unknown;
}

export interface IProfile {
  version: number;
  rows: number;
  columns: IColumnProfile[];
  figures: { [column: string]: IFigure };
}

export interface ITableDetail {
  name: string;
  lake: string;
  version: number;
  schema: ISchemaField[];
  preview: IPreview;
  history: IHistoryEntry[];
  quarantine: IQuarantine;
  profile: IProfile | null;
}

// GET sniff, POST tables, POST tables/{name}/profile, GET tasks/{id}

export interface ISniffColumn {
  name: string;
  type: string;
}

export interface ISniff {
  path: string;
  format: string;
  columns: ISniffColumn[];
}

export interface IIngestRequest {
  paths: string[];
  table: string;
  lake?: string;
  pii?: string[];
  dedup?: string[];
}

/** The answer of every verb that starts a task (202). */
export interface ITaskStarted {
  task: string;
}

export interface IIngestReport {
  table: string;
  version: number;
  rows_in: number;
  rows_written: number;
  rows_quarantined: number;
  duplicates_dropped: number;
  files: number;
  seconds: number;
}

export type TaskState = 'queued' | 'running' | 'done' | 'failed';

export interface ITask {
  id: string;
  kind: 'ingest' | 'profile';
  state: TaskState;
  label: string;
  progress: { done: number; total: number };
  started: number | null;
  ended: number | null;
  /** The ingest report for an ingest task; the profile task's result is not read. */
  result: IIngestReport | null;
  error: string | null;
}

// GET runs, GET runs/{id}, POST runs/{id}/stop

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'stopped';

export type AlertSeverity = 'info' | 'warning' | 'critical';

export interface IRun {
  id: string;
  name: string;
  status: RunStatus;
  ranks: number;
  steps: number;
  samples_per_s: number | null;
  last_loss: number | null;
  throughput: number[];
  started: number;
  ended: number | null;
  error: { rank: number; message: string } | null;
  /** How many of the run's alerts fire now (from its alerts.jsonl). */
  alerts: number;
  /** The most severe firing alert; null when none fires. */
  alert: { severity: AlertSeverity; message: string } | null;
}

export interface IRunList {
  runs: IRun[];
}

export interface IRunDetail extends IRun {
  traceback: string | null;
  metrics: string[];
  figures: { throughput: IFigure; loss: IFigure };
}

// GET dashboards, POST dashboards, DELETE dashboards/{id}

export interface IDashboard {
  id: string;
  name: string;
  status: ServiceStatus;
  url: string;
  notebook: string;
  lake: string | null;
  port: number;
  created: number;
}

export interface IDashboardList {
  dashboards: IDashboard[];
}

export interface IPublishRequest {
  notebook: string;
  name?: string;
  lake?: string;
}

// GET endpoints, DELETE endpoints/{id}

export type EndpointStatus = 'serving' | 'stopping';

/** A served model endpoint (`wb.infer.serve`), as its serving process last reported it. */
export interface IEndpoint {
  id: string;
  url: string;
  engine: string;
  model: string;
  status: EndpointStatus;
  /** Over the endpoint's last seconds; null when it reports none. */
  requests_per_s: number | null;
  p99_ms: number | null;
  errors: number;
  requests: number;
  max_batch: number;
  max_delay_ms: number;
  host: string;
  port: number;
  pid: number;
  created: number;
  /** The names of the ops rules firing on it now. */
  alerts: string[];
}

export interface IEndpointList {
  endpoints: IEndpoint[];
}

// GET resources

export interface IGpuSample {
  index: number;
  name: string;
  utilization: number;
  memory_used: number;
  memory_total: number;
}

export interface IResources {
  time: number;
  cpu: { percent: number; cores: number; limit: number | null };
  memory: { used: number; total: number; limit: number | null };
  gpus: IGpuSample[];
  gpu_note: string | null;
}

/** The answers of the DELETE verbs and of POST runs/{id}/stop. */
export interface IStopped {
  stopped: string;
}

export interface IStopping {
  stopping: string;
}
