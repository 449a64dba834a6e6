import { setFlagsFromString } from 'node:v8';
import type { EnvKey } from './config';
import type { TopicKey } from './messages';

/**
 * The cloud functions: one definition read by the function entry points (their config keys),
 * by `npm run build:functions` (entry points) and by infra-cdktf (triggers, sizing, environment).
 */
export interface FunctionSpec {
  /** Source folder under functions/ and the deployed function's base name. */
  name: string;
  /** Exported symbol registered with the functions framework. */
  entryPoint: string;
  trigger: { kind: 'pubsub'; topic: TopicKey } | { kind: 'http' };
  /** Environment variables the function reads (its config schema's keys). */
  env: readonly EnvKey[];
  memoryMb: number;
  /**
   * vCPUs per instance (Cloud Run's `cpu`: 0.08–1 in steps of 0.001, or a whole number). Absent: Cloud
   * Run derives it from the memory (256 MiB → 0.167, 512 MiB → 0.333, 1 GiB → 0.583, 2 GiB → 1), so
   * halving the memory of a CPU-bound function would halve its CPU too. Below 1 vCPU Cloud Run requires
   * one request per instance (MAX_REQUESTS_PER_INSTANCE) and at least 0.5 vCPU above 512 MiB.
   */
  vcpu?: number;
  timeoutSeconds: number;
  /** Caps concurrency: for extract it is the number of municipal servers read at once. */
  maxInstances: number;
  /** Flags for node itself, deployed as NODE_OPTIONS (node reads it at start; only flags node allows there). */
  nodeOptions?: string;
  /**
   * V8 flags node refuses in NODE_OPTIONS (it exits 9 there), the only way a Cloud Function takes node
   * flags: the function's entry point sets them first thing at cold start, before its handler's code
   * runs (applyV8Flags).
   */
  v8Flags?: readonly string[];
}

const COMMON: readonly EnvKey[] = ['projectId', 'environment', 'logLevel'];

export const FUNCTIONS = {
  fanOut: {
    name: 'fan-out',
    entryPoint: 'fanOut',
    trigger: { kind: 'pubsub', topic: 'runRequests' },
    env: [...COMMON, 'stagingBucket', 'registryFile', 'topicPrefix', 'lookbackDays'],
    memoryMb: 256,
    timeoutSeconds: 120,
    maxInstances: 2,
  },
  extract: {
    name: 'extract',
    entryPoint: 'extract',
    trigger: { kind: 'pubsub', topic: 'extractRequests' },
    env: [
      ...COMMON,
      'stagingBucket',
      'registryFile',
      'topicPrefix',
      'pseudonymKeySecret',
      'statementTimeoutMs',
      'lockTimeoutMs',
      'connectTimeoutMs',
      'idleInTransactionTimeoutMs',
      'partMaxBytes',
      'gzipLevel',
      'timeBudgetMs',
    ],
    // Streaming keeps memory flat with rows: peak RSS measured at 2 M and 8 M rows with hashed columns
    // (docs/benchmarks.md, first section) leaves the headroom stated there under 256 MiB.
    memoryMb: 256,
    // What 512 MiB used to give implicitly. The extractor needs ~10 µs of its own CPU per row on a table
    // with hashed columns (19.4 s per 2 M rows, docs/benchmarks.md): 256 MiB alone would give 0.167 vCPU,
    // ~17 k rows/s at best — slower than the 25 k rows/s municipal links docs/cost.md assumes; 1/3 vCPU
    // gives ~34 k by that arithmetic — but the built function in a 256 MiB / 0.333-vCPU cgroup on a loaded
    // 2-core machine made only 18.7 k rows/s (~17 µs of CPU per row: docs/benchmarks.md, the extract
    // function section), so 0.5 vCPU is the next step if the deployed function's logs show CPU-bound
    // extracts. It keeps today's CPU and CPU cost and halves the memory cost; a whole vCPU would triple
    // the CPU cost of an extract that waits on the network.
    vcpu: 0.333,
    timeoutSeconds: 540,
    // At most 20 municipal servers are read at once: bounds VPN load and BigQuery-side fan-in size.
    maxInstances: 20,
    // V8 grows its young generation on its own up to 16 MiB semi-spaces, and that decided the peak RSS:
    // 2 M hashed rows peaked at 135 and 154 MiB with the default, 128 and 117 MiB with 4 MiB semi-spaces,
    // at the same speed (docs/benchmarks.md, the full run of 2026-12-06 23:56). The extract path keeps
    // little alive between chunks (its batch buffers are outside the heap), so small scavenges cost little.
    nodeOptions: '--max-semi-space-size=4',
    // What still moved the peak was memory V8 frees only at a full collection: Buffers around the socket
    // and zlib whose small JS objects got promoted while the main thread hashed, left for a small old
    // generation that rarely asks for one — peaks of 114–128 MiB at 2 M hashed rows, 129–135 at 8 M
    // (the same fluctuation, met more often in a longer run). Optimising for size makes V8 collect for
    // memory: 92–95 MiB at both sizes, flat through the run; no-pii ~5 % faster, hashed 4–6 % slower
    // (docs/benchmarks.md, 2026-12-07 02:36). Its GC heuristics read the flag as they run, so it works
    // set at cold start (measured the same as on the command line).
    v8Flags: ['--optimize-for-size'],
  },
  load: {
    name: 'load',
    entryPoint: 'load',
    trigger: { kind: 'pubsub', topic: 'loadRequests' },
    env: [...COMMON, 'stagingBucket', 'topicPrefix', 'bqLocation', 'rawDataset', 'opsDataset'],
    memoryMb: 512,
    timeoutSeconds: 540,
    // BigQuery allows 2 concurrent mutating statements per table: loads are serialised.
    maxInstances: 1,
  },
  runStatus: {
    name: 'run-status',
    entryPoint: 'runStatus',
    trigger: { kind: 'http' },
    // Status comes from the bucket (plan, manifests, failures, load records): no BigQuery access.
    env: [...COMMON, 'stagingBucket', 'registryFile'],
    memoryMb: 256,
    timeoutSeconds: 60,
    maxInstances: 5,
  },
  runReport: {
    name: 'run-report',
    entryPoint: 'runReport',
    trigger: { kind: 'http' },
    // The report is built from the bucket (plan, manifests, failure and load records) and written
    // to the ledger in ops: no raw or marts access, no topics.
    env: [...COMMON, 'stagingBucket', 'bqLocation', 'opsDataset', 'staleSourceHours'],
    // A 650-municipality run reads ~650 manifests and writes ~16 k reconciliation rows as JSON
    // parameters: 512 MiB keeps them comfortably in memory.
    memoryMb: 512,
    // The workflow's write_report step waits up to 600 s for the answer (its http.post timeout);
    // HTTP functions may run up to 3,600 s, so the function is given the same budget as its caller.
    timeoutSeconds: 600,
    // One report per workflow execution; two leave room for a finalize-only execution alongside.
    maxInstances: 2,
  },
} as const satisfies Record<string, FunctionSpec>;
export type FunctionKey = keyof typeof FUNCTIONS;

/**
 * How Pub/Sub delivers to the Pub/Sub-triggered functions: the push subscriptions infra-cdktf
 * synthesizes, and what an emulator test must configure to behave like them. One definition.
 */
export const DELIVERY = {
  /** Exponential retry between these bounds after a failed push (Pub/Sub's retry policy). */
  minimumBackoffSeconds: 10,
  maximumBackoffSeconds: 600,
  /**
   * Failed pushes before a message goes to the dead-letter topic. 429s at the instance cap count
   * too, and for extract they are the normal state of a daily run (650 messages, 20 servers at a
   * time): 100 attempts ≤ 600 s apart ≈ 16 h before a municipality that keeps failing is parked.
   */
  maxDeliveryAttempts: {
    fanOut: 5, // one message a day; failing 5 times is a bug, not load
    extract: 100,
    load: 20, // one instance: a few 429s while a previous load runs
  },
  /** Undelivered work is kept a day: the next daily run supersedes anything older. */
  messageRetentionSeconds: 86_400,
  /** Dead letters are kept a week: a week-end plus time to investigate. */
  deadLetterRetentionSeconds: 604_800,
  /** The push waits for the answer longer than the function may run (Pub/Sub's maximum is 600 s). */
  ackDeadlineMarginSeconds: 30,
  maxAckDeadlineSeconds: 600,
} as const;

export type PubsubFunctionKey = keyof typeof DELIVERY.maxDeliveryAttempts;

/** Ack deadline of a function's push subscription: its timeout plus the margin, capped at Pub/Sub's maximum. */
export function ackDeadlineSeconds(key: PubsubFunctionKey): number {
  return Math.min(DELIVERY.maxAckDeadlineSeconds, FUNCTIONS[key].timeoutSeconds + DELIVERY.ackDeadlineMarginSeconds);
}

/** Sets a function's v8Flags in this process: its entry point calls it first (and the bench's extractor, which stands in for it). */
export function applyV8Flags(key: FunctionKey): void {
  for (const flag of (FUNCTIONS[key] as FunctionSpec).v8Flags ?? []) setFlagsFromString(flag);
}

/** The environment node itself reads in a function's instances (NODE_OPTIONS), from its spec. */
export function nodeEnvironment(key: FunctionKey): Record<string, string> {
  const spec: FunctionSpec = FUNCTIONS[key];
  return spec.nodeOptions ? { NODE_OPTIONS: spec.nodeOptions } : {};
}
