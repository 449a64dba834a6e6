import { FUNCTIONS, type FunctionKey } from '../../shared/contracts/functions';
import { LOG_FIELDS, LOG_LABELS, LOG_MESSAGES } from '../../shared/contracts/log-messages';
import { ALERT_FIELD_VALUE, ALERT_RULES } from '../../shared/ledger/alerts';
import { Cloudfunctions2Function, PubsubSubscription } from '../../infra-cdktf/google';
import type { StackContext } from '../../infra-cdktf/modules/context';
import { monitoring, NOT_LOADED_RULES } from '../../infra-cdktf/modules/monitoring';
import { topics } from '../../infra-cdktf/modules/pubsub';
import { names } from '../../infra-cdktf/naming';
import { synthModule } from './support/module-stack';
import { resources, type Body, type TfJson } from './support/synth';

/**
 * infra-cdktf/modules/monitoring.ts on its own (support/module-stack.ts says why): the real topics
 * module for the dead-letter hold, one bare function per FUNCTIONS key and one bare subscription
 * per pushed function in place of the functions module, synthesized inside each test. Every value
 * comes from its single definition (names, LOG_FIELDS, LOG_MESSAGES, ALERT_FIELD_VALUE,
 * NOT_LOADED_RULES, the environment config); operator-facing text is checked for what an operator
 * needs from it (the environment, the runbook, the names to look up), not word for word. The
 * wired-together checks stay in monitoring.test.ts.
 */

const keys = Object.keys(FUNCTIONS) as FunctionKey[];
const pushed = keys.filter((k) => FUNCTIONS[k].trigger.kind === 'pubsub');

function build(ctx: StackContext, o: { subscriptions?: FunctionKey[] } = {}) {
  const t = topics(ctx);
  const functions = Object.fromEntries(
    keys.map((k) => [k, new Cloudfunctions2Function(ctx.scope, `fn-${k}`, { project: ctx.config.projectId, location: ctx.config.region, name: ctx.names.function(k) })]),
  ) as Record<FunctionKey, Cloudfunctions2Function>;
  const subscriptions = Object.fromEntries(
    (o.subscriptions ?? pushed).map((k) => [
      k,
      new PubsubSubscription(ctx.scope, `sub-${k}`, { project: ctx.config.projectId, name: `sub-name-${k}`, topic: t.topics.extractRequests.id }),
    ]),
  );
  monitoring(ctx, { functions, subscriptions, topics: t });
}

const synth = (o: Parameters<typeof build>[1] = {}, s: Parameters<typeof synthModule>[1] = {}) => synthModule((ctx) => build(ctx, o), s);

const ref = (type: string, id: string, attr = 'name') => `\${${type}.${id}.${attr}}`;
const fnName = (k: FunctionKey) => ref('google_cloudfunctions2_function', `fn-${k}`);
const metricRef = (id: string) => ref('google_logging_metric', id);
const EMAIL = ref('google_monitoring_notification_channel', 'alert-email');
const HOLD = ref('google_pubsub_subscription', 'subscription-dead-letter-hold');

const policy = (json: TfJson, id: string): Body => {
  const p = json.resource.google_monitoring_alert_policy?.[id];
  if (!p) throw new Error(`no alert policy ${id}`);
  return p;
};
const metric = (json: TfJson, id: string): Body => {
  const m = json.resource.google_logging_metric?.[id];
  if (!m) throw new Error(`no log metric ${id}`);
  return m;
};

/** What every threshold condition on a log-based counter has in common: any one event alerts, at once. */
const counter = (filter: string, groupBy: string) => ({
  filter,
  comparison: 'COMPARISON_GT',
  threshold_value: 0,
  duration: '0s',
  aggregations: [{ alignment_period: '300s', per_series_aligner: 'ALIGN_SUM', cross_series_reducer: 'REDUCE_SUM', group_by_fields: [groupBy] }],
  trigger: { count: 1 },
});

/** A policy's operator-facing text: names the environment, ends with the runbook pointer, says something. */
function expectReadable(p: Body, env: string) {
  expect(p.display_name).toMatch(new RegExp(`^\\[${env}\\] \\S.{10,}`));
  expect(p.documentation.mime_type).toBe('text/markdown');
  expect(p.documentation.content).toMatch(/^\S.{30,}\n\nRunbook: docs\/deploy\.md "Operations"\.$/s);
  for (const c of p.conditions) expect(c.display_name).toMatch(/\S{3,}/);
}

describe('monitoring module: who is told', () => {
  test('one e-mail channel to the configured address, labelled with the environment; every policy notifies it and nothing else', () => {
    const { json, config } = synth();
    expect(json.resource.google_monitoring_notification_channel).toEqual({
      'alert-email': { project: config.projectId, type: 'email', display_name: `PEC pipeline ${config.environment} alerts`, labels: { email_address: config.alertEmail } },
    });
    const policies = resources(json, 'google_monitoring_alert_policy');
    expect(policies.map(([id]) => id).sort()).toEqual(
      ['alert-data-freshness', 'alert-dead-letter-backlog', 'alert-municipalities-not-loaded', 'alert-municipality-failed', 'alert-run-report'].sort(),
    );
    for (const [, p] of policies) {
      expect([p.project, p.combiner, p.notification_channels]).toEqual([config.projectId, 'OR', [EMAIL]]);
      expect(p.conditions).toHaveLength(1);
      expectReadable(p, config.environment);
    }
  });

  test('another environment: its name in every policy title and the channel, its address', () => {
    const { json, config } = synth({}, { env: 'prod' });
    expect(json.resource.google_monitoring_notification_channel!['alert-email']!.labels).toEqual({ email_address: config.alertEmail });
    for (const [, p] of resources(json, 'google_monitoring_alert_policy')) expectReadable(p, 'prod');
  });
});

describe('monitoring module: a municipality failed for good', () => {
  test('the metric counts the extract function’s ERROR lines that carry an error class, by class and municipality', () => {
    const { json, config } = synth();
    expect(metric(json, 'metric-municipality-failed')).toEqual({
      project: config.projectId,
      name: names(config).logMetric('municipality_failed'),
      description: expect.stringMatching(/\S{5,}/),
      filter: ['resource.type="cloud_run_revision"', `resource.labels.service_name="${fnName('extract')}"`, 'severity=ERROR', `jsonPayload.${LOG_FIELDS.errorClass}:*`].join('\n'),
      metric_descriptor: {
        metric_kind: 'DELTA',
        value_type: 'INT64',
        unit: '1',
        labels: [
          { key: 'error_class', value_type: 'STRING', description: expect.stringMatching(/\S{5,}/) },
          { key: 'municipality', value_type: 'STRING', description: expect.stringMatching(/\S{5,}/) },
        ],
      },
      label_extractors: { error_class: `EXTRACT(jsonPayload.${LOG_FIELDS.errorClass})`, municipality: `EXTRACT(labels.${LOG_LABELS.municipality})` },
    });
  });

  test('one such line alerts at once (ERROR), grouped by error class, closing after a day', () => {
    const { json } = synth();
    const p = policy(json, 'alert-municipality-failed');
    expect(p.severity).toBe('ERROR');
    expect(p.conditions[0].condition_threshold).toEqual(
      counter(`resource.type = "cloud_run_revision" AND metric.type = "logging.googleapis.com/user/${metricRef('metric-municipality-failed')}"`, 'metric.label.error_class'),
    );
    expect(p.alert_strategy).toEqual({ auto_close: '86400s' });
  });
});

describe('monitoring module: the daily run report', () => {
  test('the metric counts the workflow’s alert lines (the fixed alert field), by rule', () => {
    const { json, config } = synth();
    expect(metric(json, 'metric-run-alerts')).toEqual({
      project: config.projectId,
      name: names(config).logMetric('run_alerts'),
      description: expect.stringMatching(/\S{5,}/),
      filter: ['resource.type="workflows.googleapis.com/Workflow"', `jsonPayload.${LOG_FIELDS.alert}="${ALERT_FIELD_VALUE}"`].join('\n'),
      metric_descriptor: { metric_kind: 'DELTA', value_type: 'INT64', unit: '1', labels: [{ key: 'rule', value_type: 'STRING', description: expect.stringMatching(/\S{5,}/) }] },
      label_extractors: { rule: `EXTRACT(jsonPayload.${LOG_FIELDS.rule})` },
    });
  });

  test('not loaded by the deadline: its own policy on exactly NOT_LOADED_RULES; every other rule on the run-report policy', () => {
    const { json } = synth();
    expect(NOT_LOADED_RULES.length).toBeGreaterThan(0);
    expect(NOT_LOADED_RULES.every((r) => r in ALERT_RULES)).toBe(true);
    const base = `resource.type = "workflows.googleapis.com/Workflow" AND metric.type = "logging.googleapis.com/user/${metricRef('metric-run-alerts')}"`;
    const rules = `metric.label.rule = monitoring.regex.full_match("${NOT_LOADED_RULES.join('|')}")`;
    const notLoaded = policy(json, 'alert-municipalities-not-loaded');
    const report = policy(json, 'alert-run-report');
    expect(notLoaded.conditions[0].condition_threshold).toEqual(counter(`${base} AND ${rules}`, 'metric.label.rule'));
    expect(report.conditions[0].condition_threshold).toEqual(counter(`${base} AND NOT ${rules}`, 'metric.label.rule'));
    for (const p of [notLoaded, report]) expect([p.severity, p.alert_strategy]).toEqual(['ERROR', { auto_close: '86400s' }]);
    // The operator is told which rules: each is named in the not-loaded runbook text.
    for (const r of NOT_LOADED_RULES) expect(notLoaded.documentation.content).toContain(r);
  });
});

describe('monitoring module: dead letters and freshness', () => {
  test('one message waiting in the dead-letter hold for 5 minutes warns; the text names the subscription to pull', () => {
    const { json, config } = synth();
    const p = policy(json, 'alert-dead-letter-backlog');
    expect([p.severity, p.alert_strategy]).toEqual(['WARNING', { auto_close: '604800s' }]);
    expect(p.conditions[0].condition_threshold).toEqual({
      filter: `resource.type = "pubsub_subscription" AND resource.labels.subscription_id = "${HOLD}" AND metric.type = "pubsub.googleapis.com/subscription/num_undelivered_messages"`,
      comparison: 'COMPARISON_GT',
      threshold_value: 0,
      duration: '300s',
      aggregations: [{ alignment_period: '300s', per_series_aligner: 'ALIGN_MAX' }],
      trigger: { count: 1 },
    });
    expect(p.documentation.content).toContain(` ${names(config).deadLetterHold}. `);
  });

  test('the heartbeat metric counts the load function’s "load finished" lines that applied a slice', () => {
    const { json, config } = synth();
    expect(metric(json, 'metric-load-finished')).toEqual({
      project: config.projectId,
      name: names(config).logMetric('load_finished'),
      description: expect.stringMatching(/\S{5,}/),
      filter: [
        'resource.type="cloud_run_revision"',
        `resource.labels.service_name="${fnName('load')}"`,
        `jsonPayload.message="${LOG_MESSAGES.loadFinished}"`,
        `jsonPayload.${LOG_FIELDS.loaded}>0`,
      ].join('\n'),
      metric_descriptor: { metric_kind: 'DELTA', value_type: 'INT64', unit: '1' },
    });
  });

  test('no load for freshnessHours alerts (ERROR), but only once the stack has existed that long', () => {
    const { json, config } = synth();
    const h = config.alerts.freshnessHours;
    const p = policy(json, 'alert-data-freshness');
    expect([p.severity, p.alert_strategy]).toEqual(['ERROR', { auto_close: '86400s' }]);
    expect(p.display_name).toContain(` ${h} h`);
    expect(p.conditions[0].display_name).toContain(` ${h} h`);
    const hold = names(config).deadLetterHold;
    expect(p.conditions[0].condition_prometheus_query_language).toEqual({
      query:
        `absent_over_time(logging_googleapis_com:user_${metricRef('metric-load-finished')}{monitored_resource="cloud_run_revision"}[${h}h])` +
        ` and on() (count_over_time(pubsub_googleapis_com:subscription_num_undelivered_messages{monitored_resource="pubsub_subscription",subscription_id="${hold}"}[1h] offset ${h}h) > 0)`,
      duration: '0s',
      evaluation_interval: '600s',
    });
  });

  test('freshnessHours from the config reaches the title, the condition and both look-backs', () => {
    const { json, config } = synth({}, { config: (c) => ({ ...c, alerts: { ...c.alerts, freshnessHours: 49 } }) });
    expect(config.alerts.freshnessHours).toBe(49);
    const p = policy(json, 'alert-data-freshness');
    expect(p.display_name).toContain(' 49 h');
    expect(p.conditions[0].display_name).toContain(' 49 h');
    expect(p.conditions[0].condition_prometheus_query_language.query).toMatch(/\[49h\]\).*\[1h\] offset 49h\) > 0\)$/);
  });
});

describe('monitoring module: the dashboard', () => {
  const dash = (json: TfJson) => JSON.parse(json.resource.google_monitoring_dashboard!.dashboard!.dashboard_json as string) as Body;

  test('six charts in a two-column grid: failures by class, loads, dead letters, work waiting per subscription, requests and instances per function', () => {
    const { json, config } = synth();
    const d = dash(json);
    expect(d.displayName).toBe(`PEC pipeline (${config.environment})`);
    expect(d.mosaicLayout.columns).toBe(12);
    const tiles: Body[] = d.mosaicLayout.tiles;
    expect(tiles.map((t) => [t.xPos, t.yPos, t.width, t.height])).toEqual([0, 1, 2, 3, 4, 5].map((i) => [(i % 2) * 6, Math.floor(i / 2) * 4, 6, 4]));
    for (const t of tiles) expect(t.widget.title).toMatch(/\S{4,}/);
    const sets = tiles.map((t) => {
      expect(t.widget.xyChart.dataSets).toHaveLength(1);
      const s = t.widget.xyChart.dataSets[0];
      return [s.plotType, s.timeSeriesQuery.timeSeriesFilter.filter, s.timeSeriesQuery.timeSeriesFilter.aggregation];
    });
    const agg = (aligner: string, reducer: string, groupBy: string[]) => ({
      alignmentPeriod: '300s',
      perSeriesAligner: aligner,
      crossSeriesReducer: reducer,
      groupByFields: groupBy,
    });
    const services = `resource.type = "cloud_run_revision" AND resource.labels.service_name = monitoring.regex.full_match("${keys.map(fnName).join('|')}")`;
    const undelivered = 'metric.type = "pubsub.googleapis.com/subscription/num_undelivered_messages"';
    expect(sets).toEqual([
      ['STACKED_BAR', `metric.type = "logging.googleapis.com/user/${metricRef('metric-municipality-failed')}"`, agg('ALIGN_SUM', 'REDUCE_SUM', ['metric.label.error_class'])],
      ['STACKED_BAR', `metric.type = "logging.googleapis.com/user/${metricRef('metric-load-finished')}"`, agg('ALIGN_SUM', 'REDUCE_SUM', [])],
      ['LINE', `${undelivered} AND resource.labels.subscription_id = "${HOLD}"`, agg('ALIGN_MAX', 'REDUCE_MAX', [])],
      [
        'LINE',
        `${undelivered} AND resource.labels.subscription_id = monitoring.regex.full_match("${pushed.map((k) => `\${google_pubsub_subscription.sub-${k}.name}`).join('|')}")`,
        agg('ALIGN_MAX', 'REDUCE_MAX', ['resource.label.subscription_id']),
      ],
      [
        'LINE',
        `metric.type = "run.googleapis.com/request_count" AND ${services}`,
        agg('ALIGN_RATE', 'REDUCE_SUM', ['resource.label.service_name', 'metric.label.response_code_class']),
      ],
      ['LINE', `metric.type = "run.googleapis.com/container/instance_count" AND ${services}`, agg('ALIGN_MAX', 'REDUCE_SUM', ['resource.label.service_name'])],
    ]);
  });

  test('the work-waiting chart lists exactly the subscriptions it is given', () => {
    const { json } = synth({ subscriptions: ['extract'] });
    const filter: string = dash(json).mosaicLayout.tiles[3].widget.xyChart.dataSets[0].timeSeriesQuery.timeSeriesFilter.filter;
    expect(filter).toMatch(/full_match\("\$\{google_pubsub_subscription\.sub-extract\.name\}"\)$/);
  });
});
