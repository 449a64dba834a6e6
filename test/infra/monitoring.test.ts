import { Writable } from 'node:stream';
import fs from 'node:fs';
import path from 'node:path';
import { LOG_MESSAGES } from '../../shared/contracts/log-messages';
import { ALERT_RULES } from '../../shared/ledger/alerts';
import { createLogger } from '../../shared/log';
import { NOT_LOADED_RULES } from '../../infra-cdktf/modules/monitoring';
import { repoRoot, some, synthEnvironment, type Body } from './support/synth';

/** Alerts that mean something: what they watch, and that the strings they match are the ones the code writes. */
const { json, config } = synthEnvironment('prod');
const policy = (id: string): Body => json.resource.google_monitoring_alert_policy![id]!;
const metric = (id: string): Body => json.resource.google_logging_metric![id]!;

test('no alert on a 5xx ratio: a 5xx is how a transient failure asks for redelivery', () => {
  const queries = some(json, 'google_monitoring_alert_policy').flatMap(([, p]) => p.conditions.map((c: Body) => JSON.stringify(c)));
  expect(queries.filter((q) => /request_count|response_code_class|5xx/.test(q))).toEqual([]);
});

test('dead letters alert as soon as one waits in the hold subscription', () => {
  const c = policy('alert-dead-letter-backlog').conditions[0].condition_threshold;
  expect(c.filter).toContain(`resource.labels.subscription_id = "\${google_pubsub_subscription.subscription-dead-letter-hold.name}"`);
  expect(c.filter).toContain('num_undelivered_messages');
  expect([c.comparison, c.threshold_value]).toEqual(['COMPARISON_GT', 0]);
});

test('municipalities not loaded by the deadline have their own policy; the generic run-report policy leaves them out', () => {
  expect(NOT_LOADED_RULES.every((r) => r in ALERT_RULES)).toBe(true);
  const rules = `monitoring.regex.full_match("${NOT_LOADED_RULES.join('|')}")`;
  expect(policy('alert-municipalities-not-loaded').conditions[0].condition_threshold.filter).toContain(`AND metric.label.rule = ${rules}`);
  expect(policy('alert-run-report').conditions[0].condition_threshold.filter).toContain(`AND NOT metric.label.rule = ${rules}`);
});

describe('data freshness', () => {
  const query: string = policy('alert-data-freshness').conditions[0].condition_prometheus_query_language.query;

  test('fires when no load applied a slice for freshnessHours', () => {
    expect(
      query.startsWith(
        `absent_over_time(logging_googleapis_com:user_\${google_logging_metric.metric-load-finished.name}{monitored_resource="cloud_run_revision"}[${config.alerts.freshnessHours}h]) and on() (`,
      ),
    ).toBe(true);
    expect(metric('metric-load-finished').name).toBe('pec_load_finished');
  });

  test('but not on the first day after deploy: only if the stack already existed freshnessHours ago', () => {
    expect(query).toContain(
      `and on() (count_over_time(pubsub_googleapis_com:subscription_num_undelivered_messages{monitored_resource="pubsub_subscription",subscription_id="prod-pec-dead-letter-hold"}[1h] offset ${config.alerts.freshnessHours}h) > 0)`,
    );
    // The subscription it looks back at is one this stack creates.
    expect(some(json, 'google_pubsub_subscription', (s) => s.name === 'prod-pec-dead-letter-hold')).toHaveLength(1);
  });

  test('its heartbeat metric matches the message the load function logs, under the key the logger writes', () => {
    expect(metric('metric-load-finished').filter).toContain(`jsonPayload.message="${LOG_MESSAGES.loadFinished}"`);
    expect(metric('metric-load-finished').filter).toContain('jsonPayload.loaded>0');
    // The functions' logger puts the message under `message` (what Cloud Logging shows as jsonPayload.message).
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    createLogger({ service: 'load', destination: sink as never }).info({ loaded: 1 }, LOG_MESSAGES.loadFinished);
    expect(lines.map((l) => JSON.parse(l) as Body).filter((l) => l.loaded === 1)).toMatchObject([{ message: LOG_MESSAGES.loadFinished }]);
    // And the load writes that constant, not a copy of its text.
    const source = fs.readFileSync(path.join(repoRoot, 'shared/load/load-run.ts'), 'utf8');
    expect(source).toContain('LOG_MESSAGES.loadFinished');
    expect(source).not.toContain(`'${LOG_MESSAGES.loadFinished}'`);
  });
});
