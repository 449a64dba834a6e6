import { TOPICS, type TopicKey } from '../contracts/messages';
import { MESSAGE_ATTRIBUTE, PUBLISHER } from '../contracts/pubsub';

/**
 * The messages and requests the workflow sends, as templates whose leaves are literals or references to
 * Workflow variables. The workflow generator renders them as Workflows expressions; the local executor
 * evaluates them with its own variables and publishes through the validating bus. A test evaluates
 * each one with sample values and checks it against its zod contract, so the workflow cannot send
 * a message the subscribers would reject.
 */
export class Ref {
  constructor(readonly path: string) {
    if (!/^[a-z_][a-z0-9_]*(\.[a-zA-Z_][a-zA-Z0-9_]*)*$/.test(path)) throw new Error(`not a variable path: ${path}`);
  }
}
export const ref = (path: string) => new Ref(path);

export type Template = Ref | string | number | boolean | null | readonly Template[] | { readonly [k: string]: Template };

/** The Workflows expression (without `${}`) that builds the template's value. */
export function renderExpression(t: Template): string {
  if (t instanceof Ref) return t.path;
  if (t === null) return 'null';
  if (typeof t === 'string') return JSON.stringify(t);
  if (typeof t === 'number' || typeof t === 'boolean') return String(t);
  if (Array.isArray(t)) return `[${t.map(renderExpression).join(', ')}]`;
  return `{${Object.entries(t as Record<string, Template>)
    .map(([k, v]) => `${JSON.stringify(k)}: ${renderExpression(v)}`)
    .join(', ')}}`;
}

/** The template's value with `vars` bound (dotted paths walk nested objects). */
export function evaluate(t: Template, vars: Record<string, unknown>): unknown {
  if (t instanceof Ref) {
    let v: unknown = vars;
    for (const part of t.path.split('.')) {
      if (v === null || typeof v !== 'object' || !(part in v)) throw new Error(`template variable ${t.path} is not bound`);
      v = (v as Record<string, unknown>)[part];
    }
    return v;
  }
  if (t === null || typeof t !== 'object') return t;
  if (Array.isArray(t)) return t.map((x) => evaluate(x, vars));
  return Object.fromEntries(Object.entries(t as Record<string, Template>).map(([k, v]) => [k, evaluate(v, vars)]));
}

/**
 * RunRequest of the daily run. `dispatch: "caller"`: fan-out records the plan and the workflow releases
 * the extract messages itself, under its concurrency limit. Optional workflow arguments
 * (cohort, municipalities, window) are added to it when given.
 */
export const RUN_REQUEST: Template = { trigger: 'daily', runId: ref('run_id'), runDate: ref('run_date'), dispatch: 'caller' };
export const RUN_REQUEST_OPTIONAL_ARGS = ['cohort', 'municipalities', 'window'] as const;

/** One municipality's extract message, from the plan fan-out recorded (`status` is the run status summary). */
export const EXTRACT_REQUEST: Template = {
  runId: ref('run_id'),
  municipality: ref('ibge'),
  window: ref('status.window'),
  trigger: 'daily',
  loadWhenDone: false,
};

/** One load wave: staged municipalities no load has processed yet (≤ 100), one load job per table. */
export const LOAD_REQUEST: Template = { runId: ref('run_id'), municipalities: ref('wave') };

/** The report step's request (RunReportRequest). */
export const REPORT_REQUEST: Template = {
  runId: ref('report_run_id'),
  runDate: ref('report_run_date'),
  deadlineAt: ref('deadline_iso'),
  loadTimedOut: ref('load_timed_out'),
  martsFailed: ref('marts_failed'),
};

/** The run-status query (RunStatusQuery, summary view) while the workflow waits for fan-out's plan. */
export const PLAN_STATUS_QUERY: Template = { runId: ref('run_id'), view: 'summary' };

const statusQuery = { runId: ref('run_id'), view: 'summary', loadableLimit: ref('wave_max') } satisfies Record<string, Template>;
/** The run-status query once the plan exists: counts and at most one load wave of loadable municipalities. */
export const STATUS_QUERY: Template = statusQuery;
/** …and, while fanning out, one page of the plan from `cursor`. */
export const DISPATCH_STATUS_QUERY: Template = { ...statusQuery, dispatchFrom: ref('cursor'), dispatchLimit: ref('batch_size') };

/** Attributes on every message the workflow publishes. */
export const MESSAGE_ATTRIBUTES: Template = { [MESSAGE_ATTRIBUTE.runId]: ref('run_id'), [MESSAGE_ATTRIBUTE.publisher]: PUBLISHER.workflow };

export function topicName(topic: TopicKey): string {
  return TOPICS[topic];
}
