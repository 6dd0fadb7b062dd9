/**
 * The sentences the front-end shows for tasks, ingest reports, resources,
 * stopping a cluster or an endpoint and the code it inserts, built from the server's answers with the formats of
 * format.ts. Pure: nothing here is computed beyond putting numbers in words.
 */
import {
  formatBytes,
  formatBytesOf,
  formatCount,
  formatCountOf,
  formatDuration,
  formatPercent,
  formatRate
} from './format';
import { ICluster, IEndpoint, IIngestReport, IResources, ITask } from './types';

/** The notebook code that joins a cluster by its address. */
export function clusterSnippet(address: string): string {
  return `import workbench as wb\nc = wb.cluster(address=${JSON.stringify(address)})`;
}

/** What stopping an owned cluster does, for its confirmation. */
export function stopClusterConsequence(cluster: ICluster): string {
  const head = `${cluster.kind} at ${cluster.address}`;
  return cluster.status === 'running'
    ? `${head}: its scheduler and ${formatCountOf(cluster.workers, 'worker')} stop, ` +
        'and the work running on them is lost.'
    : `${head} is stopped already: its entry leaves the list.`;
}

/** The notification once a cluster is stopped (or a stopped one's entry removed). */
export function clusterStoppedMessage(cluster: ICluster): string {
  return cluster.status === 'running'
    ? `Stopped the cluster at ${cluster.address}.`
    : `Removed the stopped cluster at ${cluster.address} from the list.`;
}

/** What stopping a served endpoint does, for its confirmation. */
export function stopEndpointConsequence(endpoint: IEndpoint): string {
  return (
    `${endpoint.model} (${endpoint.engine}) at ${endpoint.url}, serving ` +
    `${formatRate(endpoint.requests_per_s, 'requests')} now, stops and closes its port: ` +
    'whoever calls it gets no answer after that.'
  );
}

const VERBS: { [kind in ITask['kind']]: string } = {
  ingest: 'Ingesting',
  profile: 'Profiling'
};

/** A running task in words: "Ingesting events… 3/8 pieces". */
export function taskProgressMessage(task: ITask, subject: string): string {
  const head = `${VERBS[task.kind]} ${subject}`;
  if (task.state === 'queued') {
    return `${head}: queued`;
  }
  const { done, total } = task.progress;
  return total > 0
    ? `${head}… ${formatCount(done)}/${formatCountOf(total, 'piece')}`
    : `${head}…`;
}

/** The share of a task's pieces done (0-1), for a progress bar; undefined before they are known. */
export function taskProgressFraction(task: ITask): number | undefined {
  const { done, total } = task.progress;
  return total > 0 ? Math.min(1, done / total) : undefined;
}

/** A failed task in words: "Ingesting events failed: <the server's message>". */
export function taskFailedMessage(task: ITask, subject: string): string {
  return `${VERBS[task.kind]} ${subject} failed: ${task.error ?? 'no reason given'}`;
}

/**
 * An ingest report with every row accounted for:
 * "events v3: 1,000 rows in = 990 written + 6 quarantined + 4 duplicates (2 files, 3.2 s)".
 */
export function ingestReportMessage(report: IIngestReport): string {
  return (
    `${report.table} v${report.version}: ` +
    `${formatCountOf(report.rows_in, 'row')} in = ` +
    `${formatCount(report.rows_written)} written + ` +
    `${formatCount(report.rows_quarantined)} quarantined + ` +
    `${formatCountOf(report.duplicates_dropped, 'duplicate')} ` +
    `(${formatCountOf(report.files, 'file')}, ${formatDuration(report.seconds)})`
  );
}

export interface IResourceSummary {
  /** The status bar's text. */
  text: string;
  /** Its tooltip, one line per resource. */
  tooltip: string;
  /** Whether the snapshot lists any GPU. */
  hasGpu: boolean;
}

/** The status bar's CPU, memory and GPU text and tooltip from one `GET resources` snapshot. */
export function resourceSummary(res: IResources): IResourceSummary {
  const memoryCap = res.memory.limit ?? res.memory.total;
  const parts = [
    `CPU ${formatPercent(res.cpu.percent)}`,
    `Mem ${formatBytesOf(res.memory.used, memoryCap)}`
  ];
  const cores =
    res.cpu.limit === null
      ? formatCountOf(res.cpu.cores, 'core')
      : `a quota of ${formatCountOf(res.cpu.limit, 'core')}`;
  const lines = [
    `CPU: ${formatPercent(res.cpu.percent)} of ${cores}`,
    `Memory: ${formatBytesOf(res.memory.used, memoryCap)} used` +
      (res.memory.limit === null
        ? ''
        : ` (container limit; the machine has ${formatBytes(res.memory.total)})`)
  ];
  if (res.gpus.length === 1) {
    const gpu = res.gpus[0];
    parts.push(
      `GPU ${formatPercent(gpu.utilization)} ${formatBytesOf(
        gpu.memory_used,
        gpu.memory_total
      )}`
    );
  } else if (res.gpus.length > 1) {
    parts.push(
      `GPUs ${res.gpus.map(gpu => formatPercent(gpu.utilization)).join(' ')}`
    );
  }
  for (const gpu of res.gpus) {
    lines.push(
      `GPU ${gpu.index} (${gpu.name}): ${formatPercent(
        gpu.utilization
      )} busy, ${formatBytesOf(gpu.memory_used, gpu.memory_total)} memory`
    );
  }
  if (res.gpus.length === 0) {
    lines.push(`GPU: ${res.gpu_note ?? 'no GPU'}`);
  }
  return {
    text: parts.join(' · '),
    tooltip: lines.join('\n'),
    hasGpu: res.gpus.length > 0
  };
}
