import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { ibgeCheckDigit } from '../../shared/contracts/ibge';
import { DAILY_WORKFLOW } from '../../shared/workflow/daily';
import { maxLoadWaves, step } from '../../shared/workflow/definition';
import { EXTRACT_REQUEST, MESSAGE_ATTRIBUTES, RUN_REQUEST, evaluate } from '../../shared/workflow/templates';
import { workflowsVariableBytes } from '../../shared/workflow/workflow-memory';
import { renderWorkflowYaml } from '../../shared/workflow/workflow-yaml';
import { evaluateAlerts } from '../../shared/ledger/alerts';
import { buildRunReport } from '../../shared/ledger/report';
import { reportResponse } from '../../shared/ledger/run-report';
import { FsObjectStore } from '../../shared/local/fs-object-store';
import { MAX_LOADABLE_LISTED, runStatus, type RunStatusSummary } from '../../shared/run/run-status';
import { StoreRunObserver, writePlan } from '../../shared/records/run-records';

/**
 * Cloud Workflows limits, for a 650-municipality run where every municipality fails:
 *  - memory: the cumulative size of all variables of an execution ≤ 512 KB, sized as Google
 *    documents it ("Memory usage", workflows/docs/reference/syntax/variables): integer, double,
 *    boolean 8 bytes; string 8 bytes + its bytes; array 8 bytes + each element; map 8 bytes + each
 *    key + each value, recursively;
 *  - steps: at most 100,000 steps per execution.
 * The variables' worst-case values come from the real run status and report over a real (local)
 * bucket holding the records of such a run, not from guesses; every variable the workflow assigns
 * must have one here, so a new variable cannot slip past the test.
 */
const MUNICIPALITIES = 650;
const MEMORY_LIMIT = 512 * 1024;
const STEP_LIMIT = 100_000;
const RUN_ID = 'daily-20261122';

type Node = Record<string, unknown>;
const wf = YAML.parse(renderWorkflowYaml(DAILY_WORKFLOW)) as Record<string, { params?: string[]; steps: Node[] }>;

/** Google's formula (shared/workflow/workflow-memory.ts; infra-cdktf's limits table uses the same). */
export const workflowsSize = workflowsVariableBytes;

/** Names a block assigns (assign keys, call results, loop variables, except aliases), recursively. */
function assignedNames(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const n of node) assignedNames(n, out);
  else if (node && typeof node === 'object') {
    const o = node as Node;
    if (Array.isArray(o.assign)) for (const a of o.assign as Node[]) for (const k of Object.keys(a)) out.add(k.split('.')[0]!);
    if (typeof o.result === 'string') out.add(o.result);
    if (o.for && typeof o.for === 'object') {
      const f = o.for as Node;
      if (typeof f.value === 'string') out.add(f.value);
      if (typeof f.index === 'string') out.add(f.index);
    }
    if (o.except && typeof o.except === 'object' && typeof (o.except as Node).as === 'string') out.add((o.except as Node).as as string);
    for (const v of Object.values(o)) assignedNames(v, out);
  }
  return out;
}

/**
 * Steps one pass through a block can execute: every step once, a `for` body once per element
 * (`iterations`), a call to a subworkflow adds that subworkflow's steps. An upper bound per pass.
 */
function stepsOf(steps: unknown, iterations: number): number {
  let n = 0;
  const visit = (node: unknown, inSteps: boolean) => {
    if (Array.isArray(node)) {
      for (const s of node) {
        if (inSteps && s && typeof s === 'object') {
          const [body] = Object.values(s as Node) as Node[];
          n += 1;
          const call = (body?.try as Node | undefined)?.call ?? body?.call;
          if (typeof call === 'string' && wf[call]) n += stepsOf(wf[call]!.steps, iterations);
          if (body?.for) n += iterations * stepsOf(((body.for as Node).steps as unknown[]) ?? [], iterations);
          if (body?.parallel) n += iterations * stepsOf((((body.parallel as Node).for as Node).steps as unknown[]) ?? [], iterations);
          for (const [k, v] of Object.entries(body ?? {})) if (k !== 'for' && k !== 'parallel') visit(v, k === 'steps');
        } else visit(s, false);
      }
    } else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node as Node)) visit(v, k === 'steps');
  };
  visit(steps, true);
  return n;
}

const mainStep = (id: string) => wf.main!.steps.find((s) => id in s)![id] as Node;

describe('the generated workflow stays within Cloud Workflows limits for 650 municipalities all failing', () => {
  let dir: string;
  let failing: RunStatusSummary;
  let staged: RunStatusSummary;
  let reportBody: unknown;
  const ibges = Array.from({ length: MUNICIPALITIES }, (_, i) => `35${String(i).padStart(4, '0')}`).map((six) => `${six}${ibgeCheckDigit(six)}`);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-limits-'));
    const store = new FsObjectStore(dir);
    const clock = { now: () => new Date('2026-11-22T09:00:00Z') };
    const window = { start: '2026-10-18', end: '2026-11-23' };
    await writePlan(store, { runId: RUN_ID, extracts: ibges.map((municipality) => ({ runId: RUN_ID, municipality, window, trigger: 'daily', loadWhenDone: false })) }, clock.now());
    const observer = new StoreRunObserver(store, clock);
    // Every municipality: three failed deliveries of a long, realistic message, then a terminal failure.
    const message = `source error ECONNREFUSED: connect ECONNREFUSED 10.20.30.40:5432 (${'x'.repeat(300)})`;
    for (const municipality of ibges) {
      for (let attempt = 1; attempt <= 3; attempt++) {
        await observer.record({ kind: 'extract_started', runId: RUN_ID, municipality, attempt, sequence: 0 });
        await observer.record({ kind: 'extract_failed', runId: RUN_ID, municipality, errorClass: 'source_unreachable', message, willRetry: attempt < 3, attempt, sequence: 0 });
      }
    }
    const query = { runId: RUN_ID, view: 'summary' as const, dispatchFrom: 0, dispatchLimit: step(DAILY_WORKFLOW, 'fanOut').batchSize, loadableLimit: MAX_LOADABLE_LISTED };
    failing = (await runStatus(store, query, { now: clock.now() }))!;
    // The other worst case for the summary: every municipality staged and not loaded yet (its
    // loadable list is full). Built from the same counts with the longest lists the query allows.
    staged = { ...failing, loadable: ibges.slice(0, MAX_LOADABLE_LISTED), dispatch: { municipalities: ibges.slice(0, query.dispatchLimit), next: query.dispatchLimit } };
    const report = await buildRunReport(store, { runId: RUN_ID, deadlineAt: '2026-11-22T12:00:00Z' }, new Date('2026-11-22T12:30:00Z'));
    const alerts = evaluateAlerts(report);
    expect(alerts).toHaveLength(MUNICIPALITIES);
    // The report step also reports earlier runs not reported yet: ten more in the answer at most.
    const others = Array.from({ length: 30 }, (_, i) => ({ ...report, run: { ...report.run, run_id: `backfill-3550308-2025${String(i).padStart(2, '0')}` } }));
    reportBody = reportResponse({ reports: [report, ...others], alerts: [...alerts, ...alerts] });
  }, 120_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('every municipality failed and the status says so with counts, not lists', () => {
    expect(failing.counts).toMatchObject({ planned: MUNICIPALITIES, failed: MUNICIPALITIES, pending: 0, loadable: 0 });
    expect(failing.loadable).toEqual([]);
    expect(workflowsSize(failing)).toBeLessThan(4 * 1024);
    expect(workflowsSize(staged)).toBeLessThan(6 * 1024);
  });

  it('all variables together, at their worst, stay far below 512 KB', () => {
    const fan = step(DAILY_WORKFLOW, 'fanOut');
    const init = (mainStep('init').assign as Node[]).reduce<Node>((a, v) => ({ ...a, ...v }), {});
    const aMessage = {
      data: Buffer.from(JSON.stringify(evaluate(EXTRACT_REQUEST, { run_id: RUN_ID, ibge: ibges[0], status: staged }))).toString('base64'),
      attributes: evaluate(MESSAGE_ATTRIBUTES, { run_id: RUN_ID }),
    };
    const worstStatus = workflowsSize(staged) > workflowsSize(failing) ? staged : failing;
    const httpResponse = (body: unknown) => ({ body, code: 200, headers: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`x-header-${i}`, 'v'.repeat(100)])) });
    const anError = { message: 'e'.repeat(2000), code: 503, tags: ['HttpError'], headers: {}, body: 'b'.repeat(2000) };
    // Worst-case value of every variable `main` assigns.
    const main: Node = {
      ...init,
      input: { runDate: '2026-11-22' },
      // Values of the expressions init assigns (their source text is about as long; these are the real ones).
      project: 'a-project-id-123456',
      topic_prefix: 'pec-prod-',
      run_status_url: 'https://run-status-abcdefghij-rj.a.run.app',
      run_report_url: 'https://run-report-abcdefghij-rj.a.run.app',
      run_topic: 'projects/a-project-id-123456/topics/pec-prod-run-requests',
      extract_topic: 'projects/a-project-id-123456/topics/pec-prod-extract-requests',
      load_topic: 'projects/a-project-id-123456/topics/pec-prod-load-requests',
      run_request: evaluate(RUN_REQUEST, { run_id: RUN_ID, run_date: '2026-11-22' }),
      status: worstStatus,
      batch: ibges.slice(0, fan.batchSize),
      messages: Array.from({ length: fan.batchSize }, () => aMessage),
      ibge: ibges[0],
      waves: { requested: MUNICIPALITIES, last_at: 1.7e9, count: 30, max: 30, timed_out: true },
      report: httpResponse(reportBody),
      alerts: MUNICIPALITIES * 2,
      alerts_query: (reportBody as { alertsQuery: string }).alertsQuery,
      mart: (init.marts as Node[])[0],
      e: anError,
      deadline: 1.7e9,
      deadline_iso: '2026-11-22T12:00:00.000Z',
      max_in_flight: 20,
      done_before: 0,
      batch_size: 10,
    };
    const assigned = assignedNames(wf.main!.steps);
    const missing = [...assigned].filter((n) => !(n in main));
    expect(missing).toEqual([]);
    // The subworkflows' variables live on the call stack at the same time: count them all.
    const load = step(DAILY_WORKFLOW, 'loadTables');
    const subs: Node = {
      // run_status
      url: 'https://run-status-abcdefghij-rj.a.run.app',
      query: { runId: RUN_ID, view: 'summary', loadableLimit: 100, dispatchFrom: 640, dispatchLimit: 10 },
      response: httpResponse(worstStatus),
      // load_wave
      waves: main.waves,
      last: true,
      run_id: RUN_ID,
      load_topic: 'projects/a-project-id/topics/pec-prod-load-requests',
      wave_max: load.waveMaxMunicipalities,
      wave_every: load.waveEveryMinutes * 60,
      load_timeout: load.timeoutMinutes * 60,
      wave: ibges.slice(0, load.waveMaxMunicipalities),
      status: worstStatus,
      // plan_not_ready
      e: anError,
    };
    for (const [name, sub] of Object.entries(wf)) {
      if (name === 'main') continue;
      for (const n of [...(sub.params ?? []), ...assignedNames(sub.steps)]) expect({ sub: name, variable: n, sized: n in subs }).toEqual({ sub: name, variable: n, sized: true });
    }
    const total = workflowsSize(main) + workflowsSize(subs);
    // Printed for docs/run-states.md.
    console.log(
      `workflow variables at worst: ${total} bytes (main ${workflowsSize(main)}, marts SQL ${workflowsSize(init.marts)}, status ${workflowsSize(worstStatus)}, report ${workflowsSize(main.report)})`,
    );
    expect(total).toBeLessThan(MEMORY_LIMIT / 4);
  });

  it('a 650-municipality execution stays far below 100,000 steps, whatever the polling does until the deadline', () => {
    const fan = step(DAILY_WORKFLOW, 'fanOut');
    const wait = step(DAILY_WORKFLOW, 'awaitExtractions');
    const load = step(DAILY_WORKFLOW, 'loadTables');
    const pages = Math.ceil(MUNICIPALITIES / fan.batchSize);
    // Each poll sleeps poll_every: fan-out's waits and await_extractions share the deadline's polls.
    const extractionPolls = Math.ceil((wait.deadlineMinutes * 60) / wait.pollEverySeconds) + 1;
    const loadPolls = Math.ceil((load.timeoutMinutes * 60) / load.pollEverySeconds) + 1;
    const per = (id: string, iterations: number) => stepsOf(mainStep(id).steps, iterations);
    const loopIds: string[] = [fan.id, wait.id, load.id];
    const once = stepsOf(
      wf.main!.steps.filter((s) => !loopIds.includes(Object.keys(s)[0]!)),
      Math.max(step(DAILY_WORKFLOW, 'refreshMarts').marts.length, fan.batchSize),
    );
    const bound = once + (pages + extractionPolls) * per(fan.id, fan.batchSize) + extractionPolls * per(wait.id, 1) + loadPolls * per(load.id, 1);
    console.log(
      `workflow steps at most: ${bound} (fan-out pass ${per(fan.id, fan.batchSize)}, await pass ${per(wait.id, 1)}, load pass ${per(load.id, 1)}, rest ${once}); load waves at most ${maxLoadWaves(DAILY_WORKFLOW, MUNICIPALITIES)}`,
    );
    expect(bound).toBeLessThan(STEP_LIMIT / 4);
    // Each wave is one modification per table (BigQuery: 1,500 per table per day, shared with reruns).
    expect(maxLoadWaves(DAILY_WORKFLOW, MUNICIPALITIES)).toBeLessThanOrEqual(50);
  });

  it('the formula is the documented one', () => {
    expect(workflowsSize('This is a string of 28 bytes')).toBe(36);
    expect(workflowsSize([1, 2])).toBe(8 + 8 + 8);
    expect(workflowsSize({ a: true })).toBe(8 + 9 + 8);
  });
});
