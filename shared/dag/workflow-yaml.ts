import YAML from 'yaml';
import { bigQueryRefreshScript, getMart } from '../marts/marts';
import { ALERT_FIELD_VALUE } from '../ledger/alerts';
import { step, type Dag, type RetryPolicy } from './definition';
import { WORKFLOW_ENV } from './daily';
import {
  EXTRACT_REQUEST,
  LOAD_REQUEST,
  MESSAGE_ATTRIBUTES,
  REPORT_REQUEST,
  RUN_REQUEST,
  RUN_REQUEST_OPTIONAL_ARGS,
  renderExpression,
  topicName,
  type Template,
} from './templates';

/**
 * Generates the Cloud Workflows definition of a DAG (`npm run workflows:generate`). The output is
 * committed and deployed as is; a test regenerates it and fails when the committed file differs.
 *
 * Shape: `main` runs the DAG's steps in order, one top-level step per DAG step (so `finalizeOnly`
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

export function workflowDefinition(dag: Dag): Obj {
  const start = step(dag, 'startRun');
  const fan = step(dag, 'fanOut');
  const wait = step(dag, 'awaitExtractions');
  const load = step(dag, 'loadTables');
  const marts = step(dag, 'refreshMarts');
  const report = step(dag, 'writeReport');
  const topic = (key: 'runRequests' | 'extractRequests' | 'loadRequests') => x(`"projects/" + project + "/topics/" + topic_prefix + "${topicName(key)}"`);
  const env = (name: string) => x(`sys.get_env("${name}")`);

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
        { max_in_flight: fan.maxInFlight },
        { load_timeout_minutes: load.timeoutMinutes },
        { deadline: x(`sys.now() + ${wait.deadlineMinutes} * 60`) },
        { deadline_iso: null },
        { status: null },
        { messages: [] },
        { dispatched: 0 },
        { done: [] },
        { load_timed_out: false },
        { marts_failed: [] },
        { report: null },
        { alerts: [] },
        {
          marts: marts.marts.map((name) => ({ name, sql: bigQueryRefreshScript(getMart(name)) })),
        },
        { run_request: tpl(RUN_REQUEST) },
      ],
    },
  };

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

  const startRun = {
    [start.id]: {
      steps: [
        publish('publish_run_request', 'run_topic', x(`[${message('run_request')}]`), start.retry),
        {
          await_plan: {
            try: { call: 'run_status', args: { url: x('run_status_url'), run_id: x('run_id') }, result: 'status' },
            retry: retry(start.planRetry, 'plan_not_ready'),
          },
        },
        {
          set_deadline: {
            assign: [{ deadline: x('time.parse(status.createdAt) + deadline_minutes * 60') }, { deadline_iso: x('time.format(deadline)') }],
          },
        },
      ],
    },
  };

  const fanOut = {
    [fan.id]: {
      steps: [
        {
          dispatch: {
            for: {
              value: 'm',
              index: 'i',
              in: x('status.municipalities'),
              steps: [
                // A municipality already extracted in this run (a re-executed workflow) is not sent again.
                {
                  add_message: {
                    switch: [{ condition: x('m.state != "done"'), assign: [{ messages: x(`list.concat(messages, ${message(renderExpression(EXTRACT_REQUEST))})`) }] }],
                  },
                },
                {
                  batch_full: {
                    switch: [
                      {
                        condition: x('len(messages) > 0 and (len(messages) == batch_size or i == len(status.municipalities) - 1)'),
                        steps: [
                          {
                            wait_for_capacity: {
                              call: 'poll_capacity',
                              args: {
                                url: x('run_status_url'),
                                run_id: x('run_id'),
                                dispatched: x('dispatched'),
                                allowed_in_flight: x('max_in_flight - len(messages)'),
                                deadline: x('deadline'),
                                poll_every: wait.pollEverySeconds,
                              },
                              result: 'has_capacity',
                            },
                          },
                          {
                            release_batch: {
                              switch: [
                                {
                                  condition: x('has_capacity'),
                                  steps: [
                                    publish('publish_batch', 'extract_topic', x('messages'), fan.retry),
                                    { count_batch: { assign: [{ dispatched: x('dispatched + len(messages)') }] } },
                                  ],
                                },
                              ],
                            },
                          },
                          { next_batch: { assign: [{ messages: [] }] } },
                        ],
                      },
                    ],
                  },
                },
              ],
            },
          },
        },
      ],
    },
  };

  const awaitExtractions = {
    [wait.id]: {
      steps: [
        {
          wait_until_settled: {
            call: 'poll_until_settled',
            args: { url: x('run_status_url'), run_id: x('run_id'), deadline: x('deadline'), poll_every: wait.pollEverySeconds },
            result: 'status',
          },
        },
      ],
    },
  };

  const loadTables = {
    [load.id]: {
      steps: [
        {
          collect_done: {
            for: {
              value: 'm',
              in: x('status.municipalities'),
              steps: [{ is_done: { switch: [{ condition: x('m.state == "done"'), assign: [{ done: x('list.concat(done, m.ibge)') }] }] } }],
            },
          },
        },
        {
          load_if_any: {
            switch: [
              {
                condition: x('len(done) > 0'),
                steps: [
                  publish('publish_load', 'load_topic', x(`[${message(renderExpression(LOAD_REQUEST))}]`), load.retry),
                  {
                    wait_for_load: {
                      call: 'poll_until_loaded',
                      args: {
                        url: x('run_status_url'),
                        run_id: x('run_id'),
                        expected: x('len(done)'),
                        timeout_at: x('sys.now() + load_timeout_minutes * 60'),
                        poll_every: load.pollEverySeconds,
                      },
                      result: 'load_finished',
                    },
                  },
                  { note_timeout: { assign: [{ load_timed_out: x('not load_finished') }] } },
                ],
              },
            ],
          },
        },
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
                severity: 'ALERT',
                json: x(`{"alert": "${ALERT_FIELD_VALUE}", "rule": "report_failed", "severity": "ALERT", "runId": run_id, "message": "the run report could not be written: ledger and alerts are missing for this run", "error": e}`),
              },
            },
          },
        ],
      },
    },
  };

  const alertStep = step(dag, 'alertOnFailures');
  const alertOnFailures = {
    [alertStep.id]: {
      steps: [
        { pick_alerts: { switch: [{ condition: x('report != null'), assign: [{ alerts: x('report.body.alerts') }] }] } },
        {
          log_alerts: {
            for: {
              value: 'a',
              in: x('alerts'),
              steps: [{ log_alert: { call: 'sys.log', args: { severity: x('a.severity'), json: x('a') } } }],
            },
          },
        },
        {
          finish: {
            return: x('{"runId": report_run_id, "alerts": len(alerts), "loadTimedOut": load_timed_out, "martsFailed": marts_failed}'),
          },
        },
      ],
    },
  };

  return {
    main: {
      params: ['args'],
      steps: [init, ...optionalArgs, finalizeVars, route, startRun, fanOut, awaitExtractions, loadTables, refreshMarts, writeReport, alertOnFailures],
    },
    run_status: {
      params: ['url', 'run_id'],
      steps: [
        {
          get: {
            try: { call: 'http.get', args: { url: x('url'), query: { runId: x('run_id') }, auth: { type: 'OIDC' }, timeout: 60 }, result: 'response' },
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
    // True once fewer than allowed_in_flight dispatched municipalities are still extracting; false past the deadline.
    poll_capacity: {
      params: ['url', 'run_id', 'dispatched', 'allowed_in_flight', 'deadline', 'poll_every'],
      steps: [
        { past_deadline: { switch: [{ condition: x('sys.now() >= deadline'), return: false }] } },
        { nothing_in_flight: { switch: [{ condition: x('dispatched <= allowed_in_flight'), return: true }] } },
        { poll: { call: 'run_status', args: { url: x('url'), run_id: x('run_id') }, result: 'status' } },
        {
          check: {
            switch: [
              { condition: x('dispatched - status.counts.done - status.counts.failed <= allowed_in_flight'), return: true },
              { condition: x('sys.now() >= deadline'), return: false },
            ],
          },
        },
        { sleep: { call: 'sys.sleep', args: { seconds: x('poll_every') }, next: 'poll' } },
      ],
    },
    // The run status once no municipality is pending, or at the deadline (pending ones are then late).
    poll_until_settled: {
      params: ['url', 'run_id', 'deadline', 'poll_every'],
      steps: [
        { poll: { call: 'run_status', args: { url: x('url'), run_id: x('run_id') }, result: 'status' } },
        { check: { switch: [{ condition: x('status.counts.pending == 0 or sys.now() >= deadline'), return: x('status') }] } },
        { sleep: { call: 'sys.sleep', args: { seconds: x('poll_every') }, next: 'poll' } },
      ],
    },
    // True once the fan-in load has processed every extracted municipality; false at timeout_at.
    poll_until_loaded: {
      params: ['url', 'run_id', 'expected', 'timeout_at', 'poll_every'],
      steps: [
        { poll: { call: 'run_status', args: { url: x('url'), run_id: x('run_id') }, result: 'status' } },
        {
          check: {
            switch: [
              { condition: x('status.counts.loaded >= expected'), return: true },
              { condition: x('sys.now() >= timeout_at'), return: false },
            ],
          },
        },
        { sleep: { call: 'sys.sleep', args: { seconds: x('poll_every') }, next: 'poll' } },
      ],
    },
  };
}

export function renderWorkflowYaml(dag: Dag): string {
  const doc = new YAML.Document(workflowDefinition(dag));
  doc.commentBefore = [
    ` ${dag.name}.workflows.yaml — GENERATED by \`npm run workflows:generate\` from shared/dag/${dag.name}.ts. Do not edit:`,
    ' change the DAG definition and regenerate (a test fails when this file and the definition differ).',
    '',
    ...wrap(dag.description, 100).map((l) => ` ${l}`),
    '',
    ` Steps: ${dag.steps.map((s) => s.id).join(' → ')}`,
    ` Schedule: ${dag.schedule.cron} (${dag.schedule.timeZone}). Arguments (all optional): runDate "YYYY-MM-DD",`,
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
