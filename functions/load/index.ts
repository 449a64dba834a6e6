/**
 * Cloud Function (2nd gen) entry point: load, triggered by the load-requests topic.
 * Thin by design: configuration and clients at cold start, then the shared handler (function.ts).
 */
import { BigQuery } from '@google-cloud/bigquery';
import { http } from '@google-cloud/functions-framework';
import { PubSub } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import { BigQueryWarehouse } from '../../shared/adapters/gcp/bigquery-warehouse';
import { bigQueryClientOptions, loadFunctionConfig, localEndpoints } from '../../shared/adapters/gcp/function-config';
import { GcsObjectStore } from '../../shared/adapters/gcp/gcs-object-store';
import { PubSubBus } from '../../shared/adapters/gcp/pubsub-bus';
import { FUNCTIONS } from '../../shared/contracts/functions';
import { createLogger } from '../../shared/log';
import { systemClock } from '../../shared/ports';
import { coldStart, warnLocalEndpoints } from '../cold-start';
import { pubsubPush } from '../pubsub-push';
import { startTelemetry } from '../telemetry';
import { loadFunction } from './function';

const spec = FUNCTIONS.load;
const config = coldStart(spec.name, () => loadFunctionConfig('load', process.env));
const endpoints = coldStart(spec.name, () => localEndpoints(process.env));
const telemetry = startTelemetry({ service: spec.name, projectId: config.projectId, environment: config.environment });
const logger = createLogger({ service: spec.name, projectId: config.projectId, level: config.logLevel });
warnLocalEndpoints(logger, endpoints);

const handler = loadFunction(
  config,
  {
    store: new GcsObjectStore(new Storage({ projectId: config.projectId }).bucket(config.stagingBucket)),
    bus: new PubSubBus(new PubSub({ projectId: config.projectId }), config.topicPrefix),
    warehouse: new BigQueryWarehouse(new BigQuery({ projectId: config.projectId, location: config.bqLocation, ...bigQueryClientOptions(endpoints, config.projectId) }), {
      projectId: config.projectId,
      location: config.bqLocation,
      rawDataset: config.rawDataset,
      opsDataset: config.opsDataset,
    }),
    clock: systemClock,
    logger,
  },
  { afterInvocation: telemetry.flush },
);
http(spec.entryPoint, pubsubPush(handler));
