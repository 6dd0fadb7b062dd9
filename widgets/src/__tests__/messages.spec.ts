import {
  clusterSnippet,
  clusterStoppedMessage,
  ingestReportMessage,
  resourceSummary,
  stopClusterConsequence,
  taskFailedMessage,
  taskProgressFraction,
  taskProgressMessage
} from '../messages';
import { IResources, ITask } from '../types';
import { cluster } from './fixtures';

const GiB = 2 ** 30;

function task(overrides: Partial<ITask>): ITask {
  return {
    id: 't1',
    kind: 'ingest',
    state: 'running',
    label: 'ingest events',
    progress: { done: 0, total: 0 },
    started: 1000,
    ended: null,
    result: null,
    error: null,
    ...overrides
  };
}

describe('clusterSnippet', () => {
  it('joins the cluster by its address', () => {
    expect(clusterSnippet('tcp://127.0.0.1:8786')).toBe(
      'import workbench as wb\nc = wb.cluster(address="tcp://127.0.0.1:8786")'
    );
  });
  it('quotes the address as a string literal', () => {
    expect(clusterSnippet('tcp://h:1"x')).toContain('address="tcp://h:1\\"x"');
  });
});

describe('stopping a cluster', () => {
  it('warns that a running one loses its work', () => {
    const running = cluster({});
    expect(stopClusterConsequence(running)).toBe(
      'cpu at tcp://127.0.0.1:8786: its scheduler and 2 workers stop, ' +
        'and the work running on them is lost.'
    );
    expect(clusterStoppedMessage(running)).toBe('Stopped the cluster at tcp://127.0.0.1:8786.');
  });
  it('says that a stopped one only leaves the list', () => {
    const stopped = cluster({ status: 'stopped' });
    expect(stopClusterConsequence(stopped)).toBe(
      'cpu at tcp://127.0.0.1:8786 is stopped already: its entry leaves the list.'
    );
    expect(clusterStoppedMessage(stopped)).toBe(
      'Removed the stopped cluster at tcp://127.0.0.1:8786 from the list.'
    );
  });
});

describe('task messages', () => {
  it('counts the pieces done', () => {
    const t = task({ progress: { done: 3, total: 8 } });
    expect(taskProgressMessage(t, 'events')).toBe('Ingesting events… 3/8 pieces');
    expect(taskProgressFraction(t)).toBe(0.375);
  });
  it('says queued, and has no fraction before the pieces are known', () => {
    const t = task({ state: 'queued' });
    expect(taskProgressMessage(t, 'events')).toBe('Ingesting events: queued');
    expect(taskProgressMessage(task({}), 'events')).toBe('Ingesting events…');
    expect(taskProgressFraction(t)).toBeUndefined();
  });
  it('names a profile task and a failure', () => {
    const t = task({ kind: 'profile', progress: { done: 1, total: 1 } });
    expect(taskProgressMessage(t, 'events')).toBe('Profiling events… 1/1 piece');
    const f = task({ state: 'failed', error: "column 'x' not found" });
    expect(taskFailedMessage(f, 'events')).toBe(
      "Ingesting events failed: column 'x' not found"
    );
  });
});

describe('ingestReportMessage', () => {
  it('accounts for every row', () => {
    expect(
      ingestReportMessage({
        table: 'events',
        version: 3,
        rows_in: 1000,
        rows_written: 990,
        rows_quarantined: 6,
        duplicates_dropped: 4,
        files: 2,
        seconds: 3.21
      })
    ).toBe(
      'events v3: 1,000 rows in = 990 written + 6 quarantined + 4 duplicates (2 files, 3.2 s)'
    );
  });
});

describe('resourceSummary', () => {
  const base: IResources = {
    time: 1000,
    cpu: { percent: 12.4, cores: 4, limit: null },
    memory: { used: 1.2e9, total: 8 * GiB, limit: null },
    gpus: [],
    gpu_note: 'no GPU'
  };
  it('shows CPU and memory, and says there is no GPU in the tooltip only', () => {
    const s = resourceSummary(base);
    expect(s.text).toBe('CPU 12% · Mem 1.1 / 8.0 GiB');
    expect(s.hasGpu).toBe(false);
    expect(s.tooltip).toBe(
      'CPU: 12% of 4 cores\nMemory: 1.1 / 8.0 GiB used\nGPU: no GPU'
    );
  });
  it('honours the cgroup limits', () => {
    const s = resourceSummary({
      ...base,
      cpu: { percent: 50, cores: 16, limit: 2 },
      memory: { used: 1 * GiB, total: 64 * GiB, limit: 4 * GiB }
    });
    expect(s.text).toBe('CPU 50% · Mem 1.0 / 4.0 GiB');
    expect(s.tooltip).toContain('CPU: 50% of a quota of 2 cores');
    expect(s.tooltip).toContain(
      'Memory: 1.0 / 4.0 GiB used (container limit; the machine has 64 GiB)'
    );
  });
  it('shows one GPU with its memory, several by utilization', () => {
    const gpu = {
      index: 0,
      name: 'NVIDIA H100',
      utilization: 45,
      memory_used: 3 * GiB,
      memory_total: 80 * GiB
    };
    const one = resourceSummary({ ...base, gpus: [gpu], gpu_note: null });
    expect(one.text).toBe('CPU 12% · Mem 1.1 / 8.0 GiB · GPU 45% 3.0 / 80.0 GiB');
    expect(one.hasGpu).toBe(true);
    expect(one.tooltip).toContain('GPU 0 (NVIDIA H100): 45% busy, 3.0 / 80.0 GiB memory');
    const two = resourceSummary({
      ...base,
      gpus: [gpu, { ...gpu, index: 1, utilization: 5 }],
      gpu_note: null
    });
    expect(two.text).toBe('CPU 12% · Mem 1.1 / 8.0 GiB · GPUs 45% 5.0%');
    expect(two.tooltip.split('\n')).toHaveLength(4);
  });
});
