import type { FunctionKey } from '../../shared/contracts/functions';
import { LoggingMetric, MonitoringAlertPolicy, MonitoringDashboard, MonitoringNotificationChannel, type Cloudfunctions2Function, type PubsubSubscription } from '../google';
import type { StackContext } from './context';
import type { Topics } from './pubsub';
import { LOG_FIELDS, LOG_LABELS, LOG_MESSAGES } from '../../shared/contracts/log-messages';
import { ALERT_FIELD_VALUE, type AlertRule } from '../../shared/ledger/alerts';

/**
 * Run-report rules that mean "a municipality's data did not arrive by the deadline": their own
 * policy, because that is what users notice. Not extracted in time, or extracted but not loaded.
 */
export const NOT_LOADED_RULES: readonly AlertRule[] = ['municipality_late', 'not_loaded'];

/**
 * Alerts that mean something: a municipality failed for good (terminal error), municipalities not
 * loaded by the deadline, dead letters waiting, no data loaded for `alerts.freshnessHours`, and the
 * run report's other rules. No alert on the functions' 5xx ratio: a 5xx is how a transient failure
 * asks Pub/Sub for a redelivery (by design, and frequent while sources are slow); what matters is
 * whether the message ends in the dead-letter topic or the municipality misses its deadline, and
 * both are alerted on. One e-mail channel from config; one dashboard.
 */
export function monitoring(
  ctx: StackContext,
  r: { functions: Record<FunctionKey, Cloudfunctions2Function>; subscriptions: Partial<Record<FunctionKey, PubsubSubscription>>; topics: Topics },
): void {
  const { config, names } = ctx;
  const project = config.projectId;
  const fnNames = Object.values(r.functions).map((f) => f.name);
  const serviceRegex = fnNames.join('|');

  const email = new MonitoringNotificationChannel(ctx.scope, 'alert-email', {
    project,
    type: 'email',
    displayName: `PEC pipeline ${config.environment} alerts`,
    labels: { email_address: config.alertEmail },
  });
  const channels = [email.name];
  const runbook = (text: string) => ({ mimeType: 'text/markdown', content: `${text}\n\nRunbook: docs/deploy.md "Operations".` });

  // The extract handler logs exactly one ERROR line carrying `errorClass` when it gives up on a
  // municipality (terminal error → dead-letter); transient failures are WARNING and retried.
  const failed = new LoggingMetric(ctx.scope, 'metric-municipality-failed', {
    project,
    name: names.logMetric('municipality_failed'),
    description: 'Terminal extract failures (one per municipality and message), by error class',
    filter: ['resource.type="cloud_run_revision"', `resource.labels.service_name="${r.functions.extract.name}"`, 'severity=ERROR', `jsonPayload.${LOG_FIELDS.errorClass}:*`].join(
      '\n',
    ),
    metricDescriptor: {
      metricKind: 'DELTA',
      valueType: 'INT64',
      unit: '1',
      labels: [
        { key: 'error_class', valueType: 'STRING', description: 'shared/errors.ts error class' },
        { key: 'municipality', valueType: 'STRING', description: 'IBGE code (from the log entry labels)' },
      ],
    },
    labelExtractors: { error_class: `EXTRACT(jsonPayload.${LOG_FIELDS.errorClass})`, municipality: `EXTRACT(labels.${LOG_LABELS.municipality})` },
  });

  // A load that applied at least one slice: the heartbeat of fresh data.
  const loaded = new LoggingMetric(ctx.scope, 'metric-load-finished', {
    project,
    name: names.logMetric('load_finished'),
    description: 'Loads that applied at least one slice to raw',
    filter: [
      'resource.type="cloud_run_revision"',
      `resource.labels.service_name="${r.functions.load.name}"`,
      `jsonPayload.message="${LOG_MESSAGES.loadFinished}"`,
      `jsonPayload.${LOG_FIELDS.loaded}>0`,
    ].join('\n'),
    metricDescriptor: { metricKind: 'DELTA', valueType: 'INT64', unit: '1' },
  });

  new MonitoringAlertPolicy(ctx.scope, 'alert-municipality-failed', {
    project,
    displayName: `[${config.environment}] A municipality failed to extract`,
    combiner: 'OR',
    severity: 'ERROR',
    notificationChannels: channels,
    documentation: runbook('A municipality ended in a terminal error and its message is in the dead-letter topic. The error class says why (credentials, schema, network…).'),
    conditions: [
      {
        displayName: 'terminal extract error',
        conditionThreshold: {
          filter: `resource.type = "cloud_run_revision" AND metric.type = "logging.googleapis.com/user/${failed.name}"`,
          comparison: 'COMPARISON_GT',
          thresholdValue: 0,
          duration: '0s',
          aggregations: [{ alignmentPeriod: '300s', perSeriesAligner: 'ALIGN_SUM', crossSeriesReducer: 'REDUCE_SUM', groupByFields: ['metric.label.error_class'] }],
          trigger: { count: 1 },
        },
      },
    ],
    alertStrategy: { autoClose: '86400s' },
  });

  // The daily workflow's report raises alerts (stale source, reconciliation mismatch, late or
  // failed municipality, …) as one sys.log line each, carrying the fixed field `alert`.
  const runAlerts = new LoggingMetric(ctx.scope, 'metric-run-alerts', {
    project,
    name: names.logMetric('run_alerts'),
    description: 'Alerts raised by the daily run report, by rule (shared/ledger/alerts.ts)',
    filter: ['resource.type="workflows.googleapis.com/Workflow"', `jsonPayload.${LOG_FIELDS.alert}="${ALERT_FIELD_VALUE}"`].join('\n'),
    metricDescriptor: {
      metricKind: 'DELTA',
      valueType: 'INT64',
      unit: '1',
      labels: [{ key: 'rule', valueType: 'STRING', description: 'alert rule, e.g. stale_source, reconciliation_mismatch' }],
    },
    labelExtractors: { rule: `EXTRACT(jsonPayload.${LOG_FIELDS.rule})` },
  });

  new MonitoringAlertPolicy(ctx.scope, 'alert-run-report', {
    project,
    displayName: `[${config.environment}] The daily run report raised alerts`,
    combiner: 'OR',
    severity: 'ERROR',
    notificationChannels: channels,
    documentation: runbook(
      'The run report raised an alert: the rule label says which (stale_source, reconciliation_mismatch, municipality_late, …). `npm run status` or ops.alerts has the details.',
    ),
    conditions: [
      {
        displayName: 'run report alert',
        conditionThreshold: {
          filter: `resource.type = "workflows.googleapis.com/Workflow" AND metric.type = "logging.googleapis.com/user/${runAlerts.name}" AND NOT metric.label.rule = monitoring.regex.full_match("${NOT_LOADED_RULES.join('|')}")`,
          comparison: 'COMPARISON_GT',
          thresholdValue: 0,
          duration: '0s',
          aggregations: [{ alignmentPeriod: '300s', perSeriesAligner: 'ALIGN_SUM', crossSeriesReducer: 'REDUCE_SUM', groupByFields: ['metric.label.rule'] }],
          trigger: { count: 1 },
        },
      },
    ],
    alertStrategy: { autoClose: '86400s' },
  });

  new MonitoringAlertPolicy(ctx.scope, 'alert-municipalities-not-loaded', {
    project,
    displayName: `[${config.environment}] Municipalities not loaded by the deadline`,
    combiner: 'OR',
    severity: 'ERROR',
    notificationChannels: channels,
    documentation: runbook(
      'The daily run report found municipalities whose data did not reach BigQuery by the run deadline: not extracted in time (municipality_late) or extracted but not loaded (not_loaded). `npm run status` lists them; rerun them once the cause is fixed.',
    ),
    conditions: [
      {
        displayName: 'municipality not loaded by the deadline',
        conditionThreshold: {
          filter: `resource.type = "workflows.googleapis.com/Workflow" AND metric.type = "logging.googleapis.com/user/${runAlerts.name}" AND metric.label.rule = monitoring.regex.full_match("${NOT_LOADED_RULES.join('|')}")`,
          comparison: 'COMPARISON_GT',
          thresholdValue: 0,
          duration: '0s',
          aggregations: [{ alignmentPeriod: '300s', perSeriesAligner: 'ALIGN_SUM', crossSeriesReducer: 'REDUCE_SUM', groupByFields: ['metric.label.rule'] }],
          trigger: { count: 1 },
        },
      },
    ],
    alertStrategy: { autoClose: '86400s' },
  });

  new MonitoringAlertPolicy(ctx.scope, 'alert-dead-letter-backlog', {
    project,
    displayName: `[${config.environment}] Messages waiting in the dead-letter topic`,
    combiner: 'OR',
    severity: 'WARNING',
    notificationChannels: channels,
    documentation: runbook(
      `Messages that failed every delivery attempt (or were rejected as terminal) wait in subscription ${names.deadLetterHold}. Pull them, read the errorClass attribute, fix, and republish or ack.`,
    ),
    conditions: [
      {
        displayName: 'dead-letter backlog > 0',
        conditionThreshold: {
          filter: `resource.type = "pubsub_subscription" AND resource.labels.subscription_id = "${r.topics.deadLetterHold.name}" AND metric.type = "pubsub.googleapis.com/subscription/num_undelivered_messages"`,
          comparison: 'COMPARISON_GT',
          thresholdValue: 0,
          duration: '300s',
          aggregations: [{ alignmentPeriod: '300s', perSeriesAligner: 'ALIGN_MAX' }],
          trigger: { count: 1 },
        },
      },
    ],
    alertStrategy: { autoClose: '604800s' },
  });

  // Metric-absence conditions stop at 23.5 h, hence PromQL: absent_over_time looks back over any
  // range and also fires when the pipeline never loaded anything (e.g. the schedule is missing).
  // Not on the first day: the condition also needs the dead-letter hold subscription (created with
  // the stack, its backlog gauge reported continuously, 0 included) to have existed freshnessHours
  // ago, so a fresh deployment gets the same grace as a day without loads.
  const grace = `count_over_time(pubsub_googleapis_com:subscription_num_undelivered_messages{monitored_resource="pubsub_subscription",subscription_id="${names.deadLetterHold}"}[1h] offset ${config.alerts.freshnessHours}h) > 0`;
  new MonitoringAlertPolicy(ctx.scope, 'alert-data-freshness', {
    project,
    displayName: `[${config.environment}] No data loaded for ${config.alerts.freshnessHours} h`,
    combiner: 'OR',
    severity: 'ERROR',
    notificationChannels: channels,
    documentation: runbook('No load applied any slice in the period: the daily run did not start, did not reach the load step, or every municipality failed.'),
    conditions: [
      {
        displayName: `no successful load for ${config.alerts.freshnessHours} h`,
        conditionPrometheusQueryLanguage: {
          query: `absent_over_time(logging_googleapis_com:user_${loaded.name}{monitored_resource="cloud_run_revision"}[${config.alerts.freshnessHours}h]) and on() (${grace})`,
          duration: '0s',
          evaluationInterval: '600s',
        },
      },
    ],
    alertStrategy: { autoClose: '86400s' },
  });

  const subscriptionIds = Object.values(r.subscriptions).map((s) => s!.name);
  new MonitoringDashboard(ctx.scope, 'dashboard', {
    project,
    dashboardJson: JSON.stringify(
      dashboard(config.environment, { serviceRegex, failedMetric: failed.name, loadedMetric: loaded.name, deadLetter: r.topics.deadLetterHold.name, subscriptionIds }),
    ),
  });
}

function dashboard(env: string, p: { serviceRegex: string; failedMetric: string; loadedMetric: string; deadLetter: string; subscriptionIds: string[] }) {
  const chart = (title: string, filter: string, aligner: string, groupBy: string[], reducer = 'REDUCE_SUM', plotType = 'LINE') => ({
    title,
    xyChart: {
      dataSets: [
        {
          plotType,
          timeSeriesQuery: {
            timeSeriesFilter: {
              filter,
              aggregation: { alignmentPeriod: '300s', perSeriesAligner: aligner, crossSeriesReducer: reducer, groupByFields: groupBy },
            },
          },
        },
      ],
    },
  });
  const services = `resource.type = "cloud_run_revision" AND resource.labels.service_name = monitoring.regex.full_match("${p.serviceRegex}")`;
  const widgets = [
    chart(
      'Municipalities failed (terminal), by error class',
      `metric.type = "logging.googleapis.com/user/${p.failedMetric}"`,
      'ALIGN_SUM',
      ['metric.label.error_class'],
      'REDUCE_SUM',
      'STACKED_BAR',
    ),
    chart('Loads that applied slices', `metric.type = "logging.googleapis.com/user/${p.loadedMetric}"`, 'ALIGN_SUM', [], 'REDUCE_SUM', 'STACKED_BAR'),
    chart(
      'Dead-letter backlog',
      `metric.type = "pubsub.googleapis.com/subscription/num_undelivered_messages" AND resource.labels.subscription_id = "${p.deadLetter}"`,
      'ALIGN_MAX',
      [],
      'REDUCE_MAX',
    ),
    chart(
      'Work waiting per subscription',
      `metric.type = "pubsub.googleapis.com/subscription/num_undelivered_messages" AND resource.labels.subscription_id = monitoring.regex.full_match("${p.subscriptionIds.join('|')}")`,
      'ALIGN_MAX',
      ['resource.label.subscription_id'],
      'REDUCE_MAX',
    ),
    chart('Requests by function and response class', `metric.type = "run.googleapis.com/request_count" AND ${services}`, 'ALIGN_RATE', [
      'resource.label.service_name',
      'metric.label.response_code_class',
    ]),
    chart(
      'Instances by function (extract = municipal servers read at once)',
      `metric.type = "run.googleapis.com/container/instance_count" AND ${services}`,
      'ALIGN_MAX',
      ['resource.label.service_name'],
      'REDUCE_SUM',
    ),
  ];
  return {
    displayName: `PEC pipeline (${env})`,
    mosaicLayout: { columns: 12, tiles: widgets.map((widget, i) => ({ xPos: (i % 2) * 6, yPos: Math.floor(i / 2) * 4, width: 6, height: 4, widget })) },
  };
}
