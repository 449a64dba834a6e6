import { ENV } from '../contracts/config';
import { FUNCTIONS } from '../contracts/functions';
import { REFRESHED_MART_NAMES } from '../marts/marts';
import { validateWorkflowSpec, type WorkflowSpec, type RetryPolicy } from './definition';

/** HTTP and API calls: Workflows' default predicate (429, 502, 503, 504, connection errors, timeouts). */
const CALL_RETRY: RetryPolicy = { maxRetries: 5, initialDelaySeconds: 2, maxDelaySeconds: 60, multiplier: 2 };
/** Fan-out writes the plan within seconds of the run request; past ~4 minutes something is wrong. */
const PLAN_RETRY: RetryPolicy = { maxRetries: 8, initialDelaySeconds: 2, maxDelaySeconds: 60, multiplier: 2 };
/** A mart is a few-minute BigQuery job; a retry mostly meets a concurrent DML on the same table. */
const MART_RETRY: RetryPolicy = { maxRetries: 3, initialDelaySeconds: 10, maxDelaySeconds: 120, multiplier: 2 };

/**
 * The daily run. Cloud Scheduler starts it at 06:00 São Paulo, after the PECs' nightly DW jobs
 * (00:00–06:00); managers read Power BI from ~10:00, hence the 3 h extraction deadline and the
 * 1 h load budget. At most as many municipalities extract at once as the extract function has
 * instances: more would only queue in Pub/Sub, burn delivery attempts (a 429 from a busy function
 * counts as one) and end in the dead-letter topic.
 */
export const DAILY_WORKFLOW: WorkflowSpec = validateWorkflowSpec({
  name: 'daily',
  description:
    'The daily PEC → BigQuery run: start a run, release the extract messages in batches under a limit on extractions in progress (a source waiting for a retry holds no slot), load staged municipalities in waves (one load job per table per wave) until the extraction deadline, rebuild the marts, write the run ledger and alert on failures. Every municipality ends loaded, failed (with its error class), late or skipped.',
  schedule: { cron: '0 6 * * *', timeZone: 'America/Sao_Paulo' },
  steps: [
    { kind: 'startRun', id: 'start_run', retry: CALL_RETRY, planRetry: PLAN_RETRY },
    { kind: 'fanOut', id: 'fan_out', batchSize: 10, maxInFlight: FUNCTIONS.extract.maxInstances, retry: CALL_RETRY },
    { kind: 'awaitExtractions', id: 'await_extractions', deadlineMinutes: 180, pollEverySeconds: 60, retry: CALL_RETRY },
    // Healthy municipalities land ≤ ~10 min after staging, whatever the dead sources do; at most
    // 18 timed + 7 full waves while extracting for 650 municipalities, then the last ones (normally
    // 1: 26 of BigQuery's 1,500 daily table modifications). 100 municipalities per wave keep a load
    // job far below 10,000 source URIs.
    { kind: 'loadTables', id: 'load_tables', timeoutMinutes: 60, pollEverySeconds: 30, waveEveryMinutes: 10, waveMaxMunicipalities: 100, retry: CALL_RETRY },
    { kind: 'refreshMarts', id: 'refresh_marts', marts: REFRESHED_MART_NAMES, concurrency: 2, retry: MART_RETRY },
    { kind: 'writeReport', id: 'write_report', retry: CALL_RETRY },
    { kind: 'alertOnFailures', id: 'alert_on_failures' },
  ],
});

/** Environment variables the deployed workflow reads with sys.get_env (infra-cdktf sets them as user_env_vars). */
export const WORKFLOW_ENV = {
  topicPrefix: ENV.topicPrefix,
  /** URL of the run-status HTTP function. */
  runStatusUrl: 'RUN_STATUS_URL',
  /** URL of the run-report HTTP function (shared/ledger/run-report.ts behind HTTP). */
  runReportUrl: 'RUN_REPORT_URL',
  /**
   * Extractions in progress at once: the extract function's max instances in this environment
   * (infra-cdktf sets it; more would be answered 429 and burn delivery attempts). Unset: the workflow's maxInFlight.
   */
  extractMaxInFlight: 'EXTRACT_MAX_IN_FLIGHT',
  rawDataset: ENV.rawDataset,
  martsDataset: ENV.martsDataset,
  bqLocation: ENV.bqLocation,
} as const;

/** Where the generated workflow is committed (relative to the repository root). */
export const DAILY_WORKFLOW_FILE = 'workflows/daily.workflows.yaml';
