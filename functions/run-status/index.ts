/**
 * Cloud Function (2nd gen) entry point: run status, an HTTP function the workflow polls.
 * Thin by design: configuration and clients at cold start, then the shared use case (function.ts).
 */
import path from 'node:path';
import { http } from '@google-cloud/functions-framework';
import { Storage } from '@google-cloud/storage';
import { loadFunctionConfig, localEndpoints } from '../../shared/adapters/gcp/function-config';
import { GcsObjectStore } from '../../shared/adapters/gcp/gcs-object-store';
import { FUNCTIONS } from '../../shared/contracts/functions';
import { createLogger } from '../../shared/log';
import { systemClock } from '../../shared/ports';
import { loadRegistryFile } from '../../shared/run/registry-file';
import { coldStart, warnLocalEndpoints } from '../cold-start';
import { startTelemetry } from '../telemetry';
import { runStatusFunction } from './function';

const spec = FUNCTIONS.runStatus;
const config = coldStart(spec.name, () => loadFunctionConfig('runStatus', process.env));
const endpoints = coldStart(spec.name, () => localEndpoints(process.env));
const registry = coldStart(spec.name, () => loadRegistryFile(path.resolve(config.registryFile)));
const telemetry = startTelemetry({ service: spec.name, projectId: config.projectId, environment: config.environment });
const logger = createLogger({ service: spec.name, projectId: config.projectId, level: config.logLevel });
warnLocalEndpoints(logger, endpoints);

http(
  spec.entryPoint,
  runStatusFunction(
    config,
    {
      store: new GcsObjectStore(new Storage({ projectId: config.projectId }).bucket(config.stagingBucket)),
      clock: systemClock,
      logger,
      registry,
    },
    { afterInvocation: telemetry.flush },
  ),
);
