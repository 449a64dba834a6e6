/**
 * Cloud Function (2nd gen) entry point: run report, the HTTP function the daily workflow's
 * write_report step calls. Thin by design: configuration and clients at cold start, then the
 * shared use case (function.ts → shared/ledger/run-report.ts).
 */
import { BigQuery } from '@google-cloud/bigquery';
import { http } from '@google-cloud/functions-framework';
import { Storage } from '@google-cloud/storage';
import { bigQueryQueryRunner } from '../../shared/adapters/gcp/bigquery-query';
import { bigQueryClientOptions, loadFunctionConfig, localEndpoints } from '../../shared/adapters/gcp/function-config';
import { GcsObjectStore } from '../../shared/adapters/gcp/gcs-object-store';
import { FUNCTIONS } from '../../shared/contracts/functions';
import { BigQueryLedger } from '../../shared/ledger/bigquery-ledger';
import { createLogger } from '../../shared/log';
import { systemClock } from '../../shared/ports';
import { coldStart, warnLocalEndpoints } from '../cold-start';
import { startTelemetry } from '../telemetry';
import { runReportFunction } from './function';

const spec = FUNCTIONS.runReport;
const config = coldStart(spec.name, () => loadFunctionConfig('runReport', process.env));
const endpoints = coldStart(spec.name, () => localEndpoints(process.env));
const telemetry = startTelemetry({ service: spec.name, projectId: config.projectId, environment: config.environment });
const logger = createLogger({ service: spec.name, projectId: config.projectId, level: config.logLevel });
warnLocalEndpoints(logger, endpoints);
const bigquery = new BigQuery({ projectId: config.projectId, location: config.bqLocation, ...bigQueryClientOptions(endpoints, config.projectId) });

http(
  spec.entryPoint,
  runReportFunction(
    config,
    {
      store: new GcsObjectStore(new Storage({ projectId: config.projectId }).bucket(config.stagingBucket)),
      ledger: new BigQueryLedger(bigQueryQueryRunner(bigquery, { location: config.bqLocation, jobPrefix: `${spec.name}-`, labels: { step: spec.name } }), {
        project: config.projectId,
        dataset: config.opsDataset,
      }),
      clock: systemClock,
      logger,
    },
    { afterInvocation: telemetry.flush },
  ),
);
