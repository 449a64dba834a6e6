import YAML from 'yaml';
import { bigQueryCallStatement } from '../marts/marts';
import { LOG_FIELDS } from '../contracts/log-messages';
import { ALERT_FIELD_VALUE, REPORT_FAILED_ALERT } from '../ledger/alerts';
import { step, type WorkflowSpec, type RetryPolicy } from './definition';
import { WORKFLOW_ENV } from './daily';
import {
  DISPATCH_STATUS_QUERY,
  EXTRACT_REQUEST,
  LOAD_REQUEST,
  MESSAGE_ATTRIBUTES,
  PLAN_STATUS_QUERY,
  REPORT_REQUEST,
  RUN_REQUEST,
  RUN_REQUEST_OPTIONAL_ARGS,
  STATUS_QUERY,
  renderExpression,
  topicName,
  type Template,
} from './templates';

/**
 * Generates the Cloud Workflows definition of a workflow (`npm run workflows:generate`). The output is
 * committed and deployed as is; a test regenerates it and fails when the committed file differs.
 *
 * Shape: `main` runs the workflow's steps in order, one top-level step per workflow step (so `finalizeOnly`
 * can jump to refresh_marts); subworkflows poll the run-status function. Every call to another
 * service is a `try` with a `retry` (exponential backoff); plan polling uses a custom predicate that
 * also retries 404 (fan-out has not written the plan yet).
 */

type Obj = Record<string, unknown>;
// A map literal needs a space after `${` so it is not read as `${{`.
const x = (expr: string) => (expr.startsWith('{') ? `\${ ${expr} }` : `\${${expr}}`);
const tpl = (t: Template) => x(renderExpression(t));

function retry(p: RetryPolicy, predicate = 'http.default_retry_predicate'): Obj {
  return {
    predicate: x(predicate),
    max_retries: p.maxRetries,
    backoff: { initial_delay: p.initialDelaySeconds, max_delay: p.maxDelaySeconds, multiplier: p.multiplier },
  };
}

function publish(name: string, topicVar: string, messagesExpr: string, p: RetryPolicy): Obj {
  return {
    [name]: {
      try: { call: 'googleapis.pubsub.v1.projects.topics.publish', args: { topic: x(topicVar), body: { messages: messagesExpr } } },
      retry: retry(p),
    },
  };
}

const message = (payload: string) => `{"data": base64.encode(json.encode(${payload})), "attributes": ${renderExpression(MESSAGE_ATTRIBUTES)}}`;

export function workflowDefinition(workflow: WorkflowSpec): Obj {
  const start = step(workflow, 'startRun');
  const fan = step(workflow, 'fanOut');
  const wait = step(workflow, 'awaitExtractions');
  const load = step(workflow, 'loadTables');
  const marts = step(workflow, 'refreshMarts');
  const report = step(workflow, 'writeReport');
  const topic = (key: 'runRequests' | 'extractRequests' | 'loadRequests') => x(`"projects/" + project + "/topics/" + topic_prefix + "${topicName(key)}"`);
  const env = (name: string) => x(`sys.get_env("${name}")`);

  // Timed waves the deadline allows; the full waves are added once the plan's size is known.
  const timedWaves = Math.ceil(wait.deadlineMinutes / load.waveEveryMinutes);

  const init: Obj = {
    init: {
      assign: [
        { input: x('default(args, {})') },
        { project: env('GOOGLE_CLOUD_PROJECT_ID') },
        { topic_prefix: x(`default(sys.get_env("${WORKFLOW_ENV.topicPrefix}"), "")`) },
        { run_status_url: env(WORKFLOW_ENV.runStatusUrl) },
        { run_report_url: env(WORKFLOW_ENV.runReportUrl) },
        { raw_dataset: env(WORKFLOW_ENV.rawDataset) },
        { marts_dataset: env(WORKFLOW_ENV.martsDataset) },
        { bq_location: env(WORKFLOW_ENV.bqLocation) },
        { run_topic: topic('runRequests') },
        { extract_topic: topic('extractRequests') },
        { load_topic: topic('loadRequests') },
        // The São Paulo day, unless the caller names one: the run is named after it (idempotent per day).
        { run_date: x('default(map.get(input, "runDate"), text.substring(time.format(sys.now(), "America/Sao_Paulo"), 0, 10))') },
        { run_id: x('"daily-" + text.replace_all(run_date, "-", "")') },
        { finalize_only: x('default(map.get(input, "finalizeOnly"), false)') },
        { report_run_id: x('run_id') },
        { report_run_date: x('run_date') },
        { deadline_minutes: wait.deadlineMinutes },
        { batch_size: fan.batchSize },
        // Extractions in progress at once: the extract function's max instances in this environment.
        { max_in_flight: x(`int(default(sys.get_env("${WORKFLOW_ENV.extractMaxInFlight}"), "${fan.maxInFlight}"))`) },
        { poll_every: wait.pollEverySeconds },
        { load_poll_every: load.pollEverySeconds },
        { load_timeout_seconds: load.timeoutMinutes * 60 },
        { wave_max: load.waveMaxMunicipalities },
        { deadline: x(`sys.now() + ${wait.deadlineMinutes} * 60`) },
        { deadline_iso: null },
        { status: null },
        { cursor: 0 },
        { batch: [] },
        { messages: [] },
        { dispatched: 0 },
        { done_before: 0 },
        // Load waves: municipalities processed by a load once every wave sent has finished, etc.
        { waves: { requested: 0, last_at: x('sys.now()'), count: 0, max: 1, timed_out: false } },
        { load_until: 0 },
        { load_timed_out: false },
        { marts_failed: [] },
        { report: null },
        { alerts: 0 },
        { alerts_query: null },
        // Each mart's SQL lives in its stored procedure (infra-cdktf, from shared/marts): the workflow only CALLs it.
        {
          marts: marts.marts.map((name) => ({ name, sql: bigQueryCallStatement(name) })),
        },
        { run_request: tpl(RUN_REQUEST) },
      ],
    },
  };
  // A smaller instance limit than the batch size releases smaller batches.
  const clampBatch = { clamp_batch: { switch: [{ condition: x('batch_size > max_in_flight'), assign: [{ batch_size: x('max_in_flight') }] }] } };

  const optionalArgs = RUN_REQUEST_OPTIONAL_ARGS.map((arg) => ({
    [`arg_${arg}`]: { switch: [{ condition: x(`"${arg}" in input`), assign: [{ [`run_request.${arg}`]: x(`input.${arg}`) }] }] },
  }));

  // finalizeOnly: report the run named in the arguments (or only the runs not reported yet).
  const finalizeVars = {
    finalize_vars: {
      switch: [{ condition: x('finalize_only'), assign: [{ report_run_id: x('map.get(input, "runId")') }, { report_run_date: null }] }],
    },
  };
  const route = { route: { switch: [{ condition: x('finalize_only'), next: marts.id }] } };

  const callWave = (name: string, last: boolean) => ({
    [name]: {
      call: 'load_wave',
      args: {
        status: x('status'),
        waves: x('waves'),
        last,
        run_id: x('run_id'),
        load_topic: x('load_topic'),
        wave_max: x('wave_max'),
        wave_every: load.waveEveryMinutes * 60,
        load_timeout: x('load_timeout_seconds'),
      },
      result: 'waves',
    },
  });
  const getStatus = (name: string, query: Template = STATUS_QUERY) => ({
    [name]: { call: 'run_status', args: { url: x('run_status_url'), query: x(renderExpression(query)) }, result: 'status' },
  });

  const startRun = {
    [start.id]: {
      steps: [
        publish('publish_run_request', 'run_topic', x(`[${message('run_request')}]`), start.retry),
        {
          await_plan: {
            try: { call: 'run_status', args: { url: x('run_status_url'), query: x(renderExpression(PLAN_STATUS_QUERY)) }, result: 'status' },
            retry: retry(start.planRetry, 'plan_not_ready'),
          },
        },
        {
          set_deadline: {
            assign: [
              { deadline: x('time.parse(status.createdAt) + deadline_minutes * 60') },
              { deadline_iso: x('time.format(deadline)') },
              { 'waves.last_at': x('time.parse(status.createdAt)') },
              // Done before this execution (a re-executed workflow): not released again, not in flight.
              { done_before: x('status.counts.done') },
              // The budget of maxLoadWaves (shared/workflow/definition.ts): timed + full waves while extracting.
              { 'waves.max': x(`${timedWaves} + (status.counts.planned + wave_max - 1) // wave_max`) },
            ],
          },
        },
      ],
    },
  };

  // One page of the plan per batch (who is not done yet): the workflow never holds the whole list.
  const fanOut = {
    [fan.id]: {
      steps: [
        { fan_check: { switch: [{ condition: x('cursor == null or sys.now() >= deadline'), next: 'fan_end' }] } },
        getStatus('fan_page', DISPATCH_STATUS_QUERY),
        { fan_cursor: { assign: [{ cursor: x('status.dispatch.next') }, { batch: x('status.dispatch.municipalities') }] } },
        { fan_empty: { switch: [{ condition: x('len(batch) == 0'), next: 'fan_check' }] } },
        // In flight: released and neither settled nor waiting for a redelivery (backoff holds no slot).
        {
          fan_capacity: {
            switch: [
              {
                condition: x('dispatched - (status.counts.done - done_before) - status.counts.failed - status.counts.retrying + len(batch) <= max_in_flight'),
                next: 'fan_release',
              },
            ],
          },
        },
        callWave('fan_wave_while_waiting', false),
        { fan_sleep: { call: 'sys.sleep', args: { seconds: x('poll_every') } } },
        getStatus('fan_repoll'),
        { fan_deadline: { switch: [{ condition: x('sys.now() >= deadline'), next: 'fan_end' }] } },
        { fan_wait_again: { next: 'fan_capacity' } },
        { fan_release: { assign: [{ messages: [] }] } },
        {
          fan_messages: {
            for: {
              value: 'ibge',
              in: x('batch'),
              steps: [{ add_message: { assign: [{ messages: x(`list.concat(messages, ${message(renderExpression(EXTRACT_REQUEST))})`) }] } }],
            },
          },
        },
        publish('publish_batch', 'extract_topic', x('messages'), fan.retry),
        { count_batch: { assign: [{ dispatched: x('dispatched + len(batch)') }, { messages: [] }] } },
        callWave('fan_wave', false),
        { fan_next: { next: 'fan_check' } },
        { fan_end: { assign: [{ batch: [] }] } },
      ],
    },
  };

  const awaitExtractions = {
    [wait.id]: {
      steps: [
        getStatus('await_poll'),
        { await_check: { switch: [{ condition: x('status.counts.pending == 0 or sys.now() >= deadline'), next: 'await_end' }] } },
        callWave('await_wave', false),
        { await_sleep: { call: 'sys.sleep', args: { seconds: x('poll_every') }, next: 'await_poll' } },
        { await_end: { assign: [{ load_until: x('sys.now() + load_timeout_seconds') }] } },
      ],
    },
  };

  // The last waves (everything staged), then wait until no wave is in flight, up to the load timeout.
  const loadTables = {
    [load.id]: {
      steps: [
        getStatus('load_poll'),
        // Out of budget: no new wave (a wave sent now could not be waited for).
        { load_timeout: { switch: [{ condition: x('sys.now() >= load_until'), next: 'load_out_of_time' }] } },
        callWave('load_wave_last', true),
        {
          load_check: {
            switch: [
              {
                condition: x('waves.requested - status.counts.loaded <= 0 and status.counts.loadable == 0'),
                next: 'load_end',
              },
            ],
          },
        },
        { load_sleep: { call: 'sys.sleep', args: { seconds: x('load_poll_every') }, next: 'load_poll' } },
        { load_out_of_time: { assign: [{ load_timed_out: true }] } },
        { load_end: { assign: [{ load_timed_out: x('load_timed_out or waves.timed_out') }] } },
      ],
    },
  };

  const refreshMarts = {
    [marts.id]: {
      parallel: {
        shared: ['marts_failed'],
        concurrency_limit: marts.concurrency,
        for: {
          value: 'mart',
          in: x('marts'),
          steps: [
            {
              run_mart: {
                try: {
                  call: 'googleapis.bigquery.v2.jobs.insert',
                  args: {
                    projectId: x('project'),
                    body: {
                      configuration: {
                        query: {
                          query: x('text.replace_all(text.replace_all(mart.sql, "{{raw}}", project + "." + raw_dataset), "{{marts}}", project + "." + marts_dataset)'),
                          useLegacySql: false,
                        },
                      },
                      jobReference: { location: x('bq_location') },
                    },
                  },
                },
                retry: retry(marts.retry),
                except: {
                  as: 'e',
                  steps: [
                    { log_mart_error: { call: 'sys.log', args: { severity: 'ERROR', json: x('{"message": "mart refresh failed", "mart": mart.name, "error": e}') } } },
                    { record_mart_failure: { assign: [{ marts_failed: x('list.concat(marts_failed, mart.name)') }] } },
                  ],
                },
              },
            },
          ],
        },
      },
    },
  };

  const writeReport = {
    [report.id]: {
      try: {
        call: 'http.post',
        args: { url: x('run_report_url'), auth: { type: 'OIDC' }, body: tpl(REPORT_REQUEST), timeout: 600 },
        result: 'report',
      },
      retry: retry(report.retry),
      except: {
        as: 'e',
        steps: [
          {
            report_failed: {
              call: 'sys.log',
              args: {
                severity: REPORT_FAILED_ALERT.severity,
                json: x(
                  `{"${LOG_FIELDS.alert}": "${ALERT_FIELD_VALUE}", "${LOG_FIELDS.rule}": "${REPORT_FAILED_ALERT.rule}", "severity": "${REPORT_FAILED_ALERT.severity}", "runId": run_id, "message": ${JSON.stringify(REPORT_FAILED_ALERT.message)}, "error": e}`,
                ),
              },
            },
          },
        ],
      },
    },
  };

  // The report function logs each alert line itself (the log-based metric counts them); the
  // workflow only holds and logs their number and where to read them: bounded whatever the count.
  const alertStep = step(workflow, 'alertOnFailures');
  const alertOnFailures = {
    [alertStep.id]: {
      steps: [
        { count_alerts: { switch: [{ condition: x('report != null'), assign: [{ alerts: x('report.body.alerts') }, { alerts_query: x('report.body.alertsQuery') }] }] } },
        {
          alert_summary: {
            switch: [
              {
                condition: x('alerts > 0'),
                steps: [
                  {
                    log_alert_summary: {
                      call: 'sys.log',
                      args: {
                        severity: 'ERROR',
                        json: x(
                          '{"message": string(alerts) + " alert(s) raised by the run report (one log line each, from the run-report function)", "runId": report_run_id, "alerts": alerts, "ledger": alerts_query}',
                        ),
                      },
                    },
                  },
                ],
              },
            ],
          },
        },
        {
          finish: {
            return: x('{"runId": report_run_id, "alerts": alerts, "loadTimedOut": load_timed_out, "loadWaves": waves.count, "martsFailed": marts_failed}'),
          },
        },
      ],
    },
  };

  return {
    main: {
      params: ['args'],
      steps: [init, clampBatch, ...optionalArgs, finalizeVars, route, startRun, fanOut, awaitExtractions, loadTables, refreshMarts, writeReport, alertOnFailures],
    },
    // The summary view of the run status (counts and short lists: see shared/run/run-status.ts).
    run_status: {
      params: ['url', 'query'],
      steps: [
        {
          get: {
            try: { call: 'http.get', args: { url: x('url'), query: x('query'), auth: { type: 'OIDC' }, timeout: 60 }, result: 'response' },
            retry: retry(start.retry),
          },
        },
        { return_body: { return: x('response.body') } },
      ],
    },
    // 404 from run-status means "no plan yet": retried like the transient errors.
    plan_not_ready: {
      params: ['e'],
      steps: [
        {
          classify: {
            switch: [
              { condition: x('"code" in e and (e.code == 404 or e.code == 429 or e.code == 502 or e.code == 503 or e.code == 504)'), return: true },
              { condition: x('"tags" in e and ("ConnectionError" in e.tags or "TimeoutError" in e.tags)'), return: true },
            ],
          },
        },
        { otherwise: { return: false } },
      ],
    },
    // One load wave when one is due (the local executor's maybeWave): at most one in flight; a wave
    // that outlives the load timeout is given up (its municipalities become loadable again). The
    // budget (waves.max) bounds the waves sent while extracting; the last ones always go, or what is
    // staged once it is spent would never be loaded.
    load_wave: {
      params: ['status', 'waves', 'last', 'run_id', 'load_topic', 'wave_max', 'wave_every', 'load_timeout'],
      steps: [
        {
          in_flight: {
            switch: [
              { condition: x('waves.requested - status.counts.loaded > 0 and sys.now() - waves.last_at < load_timeout'), return: x('waves') },
              { condition: x('waves.requested - status.counts.loaded > 0'), assign: [{ 'waves.requested': x('status.counts.loaded') }, { 'waves.timed_out': true }] },
            ],
          },
        },
        {
          not_due: {
            switch: [
              {
                condition: x(
                  'len(status.loadable) == 0 or not (last or (waves.count < waves.max and (status.counts.loadable >= wave_max or sys.now() - waves.last_at >= wave_every)))',
                ),
                return: x('waves'),
              },
            ],
          },
        },
        { take_wave: { assign: [{ wave: x('status.loadable') }] } },
        publish('publish_wave', 'load_topic', x(`[${message(renderExpression(LOAD_REQUEST))}]`), load.retry),
        {
          count_wave: {
            assign: [{ 'waves.requested': x('status.counts.loaded + len(wave)') }, { 'waves.last_at': x('sys.now()') }, { 'waves.count': x('waves.count + 1') }],
          },
        },
        { return_waves: { return: x('waves') } },
      ],
    },
  };
}

export function renderWorkflowYaml(workflow: WorkflowSpec): string {
  const doc = new YAML.Document(workflowDefinition(workflow));
  doc.commentBefore = [
    ` ${workflow.name}.workflows.yaml — GENERATED by \`npm run workflows:generate\` from shared/workflow/${workflow.name}.ts. Do not edit:`,
    ' change the workflow specification and regenerate (a test fails when this file and the definition differ).',
    '',
    ...wrap(workflow.description, 100).map((l) => ` ${l}`),
    '',
    ` Steps: ${workflow.steps.map((s) => s.id).join(' → ')}`,
    ` Schedule: ${workflow.schedule.cron} (${workflow.schedule.timeZone}). Arguments (all optional): runDate "YYYY-MM-DD",`,
    ' cohort, municipalities [ibge…], window {start, end}; finalizeOnly true (+ runId) runs only the',
    ' marts, report and alert steps, e.g. after reruns. Environment (user_env_vars):',
    ` ${Object.values(WORKFLOW_ENV).join(', ')}.`,
  ].join('\n');
  return doc.toString({ lineWidth: 0 });
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}
