/**
 * Cloud Function (2nd gen) entry point: extract, triggered by the extract-requests topic.
 * Thin by design: configuration and clients at cold start, then the shared handler (function.ts).
 */
import path from 'node:path';
import { http } from '@google-cloud/functions-framework';
import { PubSub } from '@google-cloud/pubsub';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { Storage } from '@google-cloud/storage';
import { loadFunctionConfig, localEndpoints } from '../../shared/adapters/gcp/function-config';
import { GcsObjectStore } from '../../shared/adapters/gcp/gcs-object-store';
import { PubSubBus } from '../../shared/adapters/gcp/pubsub-bus';
import { SecretManagerSecrets, secretManagerClientOptions } from '../../shared/adapters/gcp/secret-manager-secrets';
import { FUNCTIONS, applyV8Flags } from '../../shared/contracts/functions';
import { createLogger } from '../../shared/log';
import { systemClock } from '../../shared/ports';
import { loadRegistryFile } from '../../shared/run/registry-file';
import { coldStart, warnLocalEndpoints } from '../cold-start';
import { pubsubPush } from '../pubsub-push';
import { startTelemetry } from '../telemetry';
import { extractFunction } from './function';

const spec = FUNCTIONS.extract;
// Before anything of the handler runs: the V8 flags node does not take in NODE_OPTIONS (FunctionSpec.v8Flags).
applyV8Flags('extract');
const config = coldStart(spec.name, () => loadFunctionConfig('extract', process.env));
const endpoints = coldStart(spec.name, () => localEndpoints(process.env));
const registry = coldStart(spec.name, () => loadRegistryFile(path.resolve(config.registryFile)));
const telemetry = startTelemetry({ service: spec.name, projectId: config.projectId, environment: config.environment });
const logger = createLogger({ service: spec.name, projectId: config.projectId, level: config.logLevel });
warnLocalEndpoints(logger, endpoints);

const handler = extractFunction(
  config,
  {
    store: new GcsObjectStore(new Storage({ projectId: config.projectId }).bucket(config.stagingBucket)),
    bus: new PubSubBus(new PubSub({ projectId: config.projectId }), config.topicPrefix),
    secrets: new SecretManagerSecrets(new SecretManagerServiceClient(secretManagerClientOptions(endpoints.secretManager)), {
      projectId: config.projectId,
      pseudonymKeySecret: config.pseudonymKeySecret,
    }),
    clock: systemClock,
    logger,
    registry,
  },
  { afterInvocation: telemetry.flush },
);
http(spec.entryPoint, pubsubPush(handler));
