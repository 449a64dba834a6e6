import fs from 'node:fs';
import path from 'node:path';
import { Parser } from 'node-sql-parser';
import YAML from 'yaml';
import { ExtractRequest, LoadRequest, RunRequest } from '../../shared/contracts/messages';
import { DAILY_WORKFLOW, DAILY_WORKFLOW_FILE, WORKFLOW_ENV } from '../../shared/workflow/daily';
import { FINALIZE_STEPS, STEP_ORDER, step, validateWorkflowSpec, type WorkflowSpec } from '../../shared/workflow/definition';
import {
  DISPATCH_STATUS_QUERY,
  EXTRACT_REQUEST,
  LOAD_REQUEST,
  MESSAGE_ATTRIBUTES,
  PLAN_STATUS_QUERY,
  REPORT_REQUEST,
  RUN_REQUEST,
  STATUS_QUERY,
  evaluate,
  renderExpression,
} from '../../shared/workflow/templates';
import { RunStatusQuery } from '../../shared/run/run-status';
import { renderWorkflowYaml, workflowDefinition } from '../../shared/workflow/workflow-yaml';
import { RunReportRequest } from '../../shared/ledger/report';
import { MARTS, REFRESHED_MART_NAMES, bigQueryCallStatement, bigQueryMartProcedures, getMart, martDefinitionVersion } from '../../shared/marts/marts';
import { FUNCTIONS } from '../../shared/contracts/functions';

/**
 * One workflow specification, two interpreters: the committed workflow must be exactly what the definition
 * generates, and what it generates must be a well-formed Cloud Workflows program that sends only
 * messages the subscribers accept.
 */
type Node = Record<string, unknown>;
const yamlText = renderWorkflowYaml(DAILY_WORKFLOW);
const wf = YAML.parse(yamlText) as Record<string, { params?: string[]; steps: Node[] }>;
const stepNames = (steps: Node[]) => steps.map((s) => Object.keys(s)[0]!);

/** Every step object anywhere in the program, with the path that leads to it. */
function allSteps(node: unknown, at: string[] = [], out: { path: string[]; name: string; body: Node }[] = []) {
  if (Array.isArray(node)) node.forEach((n, i) => allSteps(n, [...at, String(i)], out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node as Node)) {
      if (v && typeof v === 'object' && !Array.isArray(v) && at.at(-2) === 'steps') out.push({ path: at, name: k, body: v as Node });
      allSteps(v, [...at, k], out);
    }
  }
  return out;
}

describe('the daily workflow is generated from the workflow specification', () => {
  it('the committed workflows/daily.workflows.yaml is exactly what the definition generates (run `npm run workflows:generate`)', () => {
    const committed = fs.readFileSync(path.join(__dirname, '../..', DAILY_WORKFLOW_FILE), 'utf8');
    expect(committed).toBe(yamlText);
  });

  it('main runs the workflow steps as top-level steps, in the definition order', () => {
    const names = stepNames(wf.main!.steps);
    const stepIds = DAILY_WORKFLOW.steps.map((s) => s.id);
    expect(names.filter((n) => stepIds.includes(n as never))).toEqual(stepIds);
    expect(names.slice(-stepIds.length)).toEqual(stepIds);
    // finalizeOnly jumps to the first finalize step: marts, report, alerts.
    const route = wf.main!.steps.find((s) => 'route' in s)!.route as { switch: { next: string }[] };
    expect(route.switch[0]!.next).toBe(step(DAILY_WORKFLOW, FINALIZE_STEPS[0] as 'refreshMarts').id);
    expect(wf.main!.params).toEqual(['args']);
  });

  it('every call to another service is a try with a retry and exponential backoff', () => {
    const calls = allSteps(wf).filter((s) => {
      const c = (s.body.try as Node | undefined)?.call ?? s.body.call;
      return typeof c === 'string' && /^(http\.|googleapis\.)/.test(c);
    });
    expect(calls.length).toBeGreaterThanOrEqual(6);
    for (const c of calls) {
      expect({ step: c.name, inTry: 'try' in c.body }).toEqual({ step: c.name, inTry: true });
      const retry = c.body.retry as { predicate: string; max_retries: number; backoff: { initial_delay: number; max_delay: number; multiplier: number } };
      expect(retry.predicate).toMatch(/^\$\{[a-z_.]+\}$/);
      expect(retry.max_retries).toBeGreaterThan(0);
      expect(retry.backoff.multiplier).toBeGreaterThan(1);
      expect(retry.backoff.max_delay).toBeGreaterThanOrEqual(retry.backoff.initial_delay);
    }
    const callsNamed = (name: string) => calls.filter((c) => ((c.body.try as Node | undefined)?.call ?? c.body.call) === name).length;
    expect(callsNamed('googleapis.pubsub.v1.projects.topics.publish')).toBe(3); // run request, extract batches, fan-in load
    expect(callsNamed('googleapis.bigquery.v2.jobs.insert')).toBe(1); // inside the parallel marts loop
    expect(callsNamed('http.get')).toBe(1); // run-status, in one subworkflow
    expect(callsNamed('http.post')).toBe(1); // run report
  });

  it('carries the workflow parameters: batch size, concurrency limit, deadline, polling, marts', () => {
    const init = (wf.main!.steps[0]!.init as { assign: Node[] }).assign.reduce<Node>((a, x) => ({ ...a, ...x }), {});
    const fan = step(DAILY_WORKFLOW, 'fanOut');
    expect(init.batch_size).toBe(fan.batchSize);
    // The cap is each environment's extract instance limit (infra sets it), the workflow's value by default.
    expect(init.max_in_flight).toBe(`\${int(default(sys.get_env("${WORKFLOW_ENV.extractMaxInFlight}"), "${fan.maxInFlight}"))}`);
    expect(init.wave_max).toBe(step(DAILY_WORKFLOW, 'loadTables').waveMaxMunicipalities);
    expect(init.deadline_minutes).toBe(step(DAILY_WORKFLOW, 'awaitExtractions').deadlineMinutes);
    expect(init.load_timeout_seconds).toBe(step(DAILY_WORKFLOW, 'loadTables').timeoutMinutes * 60);
    // Never more municipalities extracting than the extract function has instances.
    expect(fan.maxInFlight).toBeLessThanOrEqual(FUNCTIONS.extract.maxInstances);
    const marts = step(DAILY_WORKFLOW, 'refreshMarts');
    const parallel = (wf.main!.steps.find((s) => marts.id in s)![marts.id] as { parallel: { concurrency_limit: number; shared: string[]; for: { value: string; in: string } } })
      .parallel;
    expect(parallel.concurrency_limit).toBe(marts.concurrency);
    expect(parallel.shared).toEqual(['marts_failed']);
    expect((init.marts as { name: string; sql: string }[]).map((m) => m.name)).toEqual(marts.marts);
    // Every mart with a refresh of its own, and nothing but a CALL of its procedure: the SQL lives in BigQuery.
    expect(marts.marts).toEqual(REFRESHED_MART_NAMES);
    expect(MARTS.filter((m) => !marts.marts.includes(m.name)).every((m) => m.refreshedWith && marts.marts.includes(m.refreshedWith))).toBe(true);
    for (const m of init.marts as { name: string; sql: string }[]) expect(m.sql).toBe(`CALL \`{{marts}}.refresh_${m.name}\`()`);
    expect(yamlText).not.toMatch(/INSERT INTO|DELETE FROM|BEGIN TRANSACTION/);
  });

  it('every subworkflow it calls exists, every `next` names a step of the same subworkflow, and expressions are balanced', () => {
    const called = allSteps(wf)
      .map((s) => (s.body.try as Node | undefined)?.call ?? s.body.call)
      .filter((c): c is string => typeof c === 'string' && !c.includes('.'));
    for (const c of called) expect(Object.keys(wf)).toContain(c);
    for (const [name, sub] of Object.entries(wf)) {
      const own = new Set(
        allSteps(sub.steps)
          .map((s) => s.name)
          .concat(stepNames(sub.steps)),
      );
      const nexts = JSON.stringify(sub.steps).match(/"next":"([a-z_]+)"/g) ?? [];
      for (const n of nexts) expect({ sub: name, next: n, ok: own.has(n.slice(8, -1)) }).toEqual({ sub: name, next: n, ok: true });
    }
    const exprs = yamlText.match(/\$\{.*$/gm) ?? [];
    for (const e of exprs) {
      const body = e.replace(/'$/, '');
      let depth = 0;
      for (const ch of body) depth += ch === '{' ? 1 : ch === '}' ? -1 : 0;
      expect({ e, depth }).toEqual({ e, depth: 0 });
      expect(body).not.toMatch(/\$\{\{/); // a map literal needs "${ {"
    }
    expect(Buffer.byteLength(yamlText)).toBeLessThan(128 * 1024); // Workflows' source size limit
  });

  it('the messages it builds satisfy the contracts the subscribers enforce', () => {
    const vars = {
      run_id: 'daily-20261122',
      run_date: '2026-11-22',
      ibge: '3509502',
      status: { window: { start: '2026-10-18', end: '2026-11-23' }, trigger: 'daily' },
      wave: ['3509502', '3548500'],
      report_run_id: 'daily-20261122',
      report_run_date: '2026-11-22',
      deadline_iso: '2026-11-22T12:00:00.000Z',
      load_timed_out: false,
      marts_failed: [],
    };
    expect(RunRequest.parse(evaluate(RUN_REQUEST, vars)).dispatch).toBe('caller');
    expect(RunRequest.parse({ ...(evaluate(RUN_REQUEST, vars) as object), cohort: 'pilot', municipalities: ['3509502'] }).trigger).toBe('daily');
    expect(ExtractRequest.parse(evaluate(EXTRACT_REQUEST, vars))).toMatchObject({ municipality: '3509502', loadWhenDone: false });
    expect(LoadRequest.parse(evaluate(LOAD_REQUEST, vars)).municipalities).toEqual(vars.wave);
    expect(RunReportRequest.parse(evaluate(REPORT_REQUEST, vars)).runId).toBe('daily-20261122');
    // finalizeOnly without a run id: only the runs not reported yet.
    expect(RunReportRequest.parse(evaluate(REPORT_REQUEST, { ...vars, report_run_id: null, report_run_date: null, deadline_iso: null })).runId).toBeNull();
    // The run-status queries it polls with pass the run-status function's contract.
    const polling = { ...vars, wave_max: 100, cursor: 10, batch_size: 10 };
    expect(RunStatusQuery.parse(evaluate(PLAN_STATUS_QUERY, polling))).toEqual({ runId: 'daily-20261122', view: 'summary' });
    expect(RunStatusQuery.parse(evaluate(STATUS_QUERY, polling)).loadableLimit).toBe(100);
    expect(RunStatusQuery.parse(evaluate(DISPATCH_STATUS_QUERY, polling))).toMatchObject({ dispatchFrom: 10, dispatchLimit: 10, loadableLimit: 100 });
    // …and the workflow builds them from these very templates.
    for (const t of [RUN_REQUEST, EXTRACT_REQUEST, LOAD_REQUEST, REPORT_REQUEST, MESSAGE_ATTRIBUTES, PLAN_STATUS_QUERY, DISPATCH_STATUS_QUERY])
      expect(yamlText).toContain(renderExpression(t));
  });

  it('the mart procedures it calls are valid BigQuery SQL, one per CALL', () => {
    const parser = new Parser();
    const procedures = bigQueryMartProcedures();
    expect(procedures.map((p) => bigQueryCallStatement(p.mart))).toEqual(REFRESHED_MART_NAMES.map((m) => `CALL \`{{marts}}.refresh_${m}\`()`));
    for (const p of procedures) {
      const script = p.body.replaceAll('{{raw}}', 'proj.pec_raw').replaceAll('{{marts}}', 'proj.pec_marts').replaceAll('{{ops}}', 'proj.pec_ops');
      expect(script).not.toMatch(/\{\{/);
      const statements = script.split(/;\n/).map((s) => s.replace(/;$/, '').trim());
      // The scope variable is declared first (BigQuery scripting), then set inside the transaction
      // from the loader's slice ledger and the state table: the procedure takes no arguments.
      expect(statements.slice(0, 2)).toEqual(['DECLARE refresh_scope ARRAY<STRING> DEFAULT []', 'BEGIN TRANSACTION']);
      expect(statements[2]).toMatch(/^SET refresh_scope = ARRAY\(SELECT municipality_ibge FROM \(SELECT n\.municipality_ibge FROM /);
      expect(statements[2]).toContain('FROM `proj.pec_ops.loaded_slices`');
      expect(statements[2]).toContain(`FROM \`proj.pec_marts.refresh_state\` WHERE mart = '${p.mart}'`);
      expect(statements[2]).toContain(`s.definition_version <> '${martDefinitionVersion(getMart(p.mart))}'`);
      expect(statements.at(-1)).toBe('COMMIT TRANSACTION');
      const body = statements.slice(3, -1);
      expect(body.length).toBeGreaterThan(2);
      for (const s of body) expect(() => parser.astify(s, { database: 'bigquery' })).not.toThrow();
      // Every statement touches the scope's municipalities only.
      for (const s of body) expect({ statement: s.slice(0, 60), scoped: s.includes('IN UNNEST(refresh_scope)') }).toEqual({ statement: s.slice(0, 60), scoped: true });
      // …and the last appends their watermark and the definition's version: the state is never
      // updated nor deleted, so two procedures running at once do not conflict on it.
      expect(body.filter((s) => /^(DELETE|UPDATE|MERGE|TRUNCATE)\b[^;]*refresh_state/.test(s))).toEqual([]);
      expect(body.at(-1)).toMatch(
        new RegExp(
          `^INSERT INTO \`proj\\.pec_marts\\.refresh_state\` .* SELECT '${p.mart}', n\\.municipality_ibge, n\\.loaded_through, '${martDefinitionVersion(getMart(p.mart))}', `,
        ),
      );
    }
  });

  it('a definition whose steps are out of order, or whose limits are impossible, is refused', () => {
    const swapped: WorkflowSpec = { ...DAILY_WORKFLOW, steps: [DAILY_WORKFLOW.steps[0]!, DAILY_WORKFLOW.steps[2]!, DAILY_WORKFLOW.steps[1]!, ...DAILY_WORKFLOW.steps.slice(3)] };
    expect(() => validateWorkflowSpec(swapped)).toThrow(/steps must be/);
    const fan = step(DAILY_WORKFLOW, 'fanOut');
    const badFan: WorkflowSpec = { ...DAILY_WORKFLOW, steps: DAILY_WORKFLOW.steps.map((s) => (s.kind === 'fanOut' ? { ...fan, batchSize: 30, maxInFlight: 20 } : s)) };
    expect(() => validateWorkflowSpec(badFan)).toThrow(/batchSize/);
    expect(DAILY_WORKFLOW.steps.map((s) => s.kind)).toEqual(STEP_ORDER);
  });

  it('generation is deterministic and pure', () => {
    expect(renderWorkflowYaml(DAILY_WORKFLOW)).toBe(yamlText);
    expect(workflowDefinition(DAILY_WORKFLOW)).toEqual(workflowDefinition(DAILY_WORKFLOW));
  });
});
