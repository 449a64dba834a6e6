import { diag, DiagLogLevel, metrics } from '@opentelemetry/api';
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  AlwaysOnSampler,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { detectResources, resourceFromAttributes } from '@opentelemetry/resources';
import { TraceExporter } from '@google-cloud/opentelemetry-cloud-trace-exporter';
import { MetricExporter } from '@google-cloud/opentelemetry-cloud-monitoring-exporter';
import { GcpDetectorSync } from '@google-cloud/opentelemetry-resource-util';

/**
 * The OpenTelemetry SDK, registered by entry points only (shared/ code uses @opentelemetry/api).
 * On Google Cloud (K_SERVICE is set by Cloud Run, which runs 2nd-gen functions) spans go to Cloud
 * Trace and metrics to Cloud Monitoring; elsewhere the SDK still runs, so trace ids propagate
 * through messages and log lines, but nothing is exported unless a test passes its own exporters.
 */

export interface Telemetry {
  /** Called after every invocation: CPU is throttled once a response is sent, so batches must go out now. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface TelemetryOptions {
  service: string;
  projectId: string;
  environment: string;
  /** Tests pass in-memory exporters; in production they are the Google Cloud ones. */
  exporters?: { spans?: SpanExporter; metrics?: PushMetricExporter };
  env?: NodeJS.ProcessEnv;
}

// Cloud Monitoring accepts one point per time series every 5 s (10 s here, with margin); metrics are
// cumulative, so a skipped flush loses nothing: the next one carries the totals.
const MIN_METRIC_FLUSH_INTERVAL_MS = 10_000;
// An export that hangs must not hold the function's response for long.
const FLUSH_TIMEOUT_MS = 3_000;

// One SDK per process: OpenTelemetry's globals can be registered once (a second entry module in the
// same process, as in tests, reuses the first registration).
const REGISTERED = Symbol.for('pec-pipeline.telemetry');
type WithTelemetry = typeof globalThis & { [REGISTERED]?: Telemetry };

export function startTelemetry(options: TelemetryOptions): Telemetry {
  const existing = (globalThis as WithTelemetry)[REGISTERED];
  if (existing) return existing;
  const telemetry = register(options);
  (globalThis as WithTelemetry)[REGISTERED] = telemetry;
  return telemetry;
}

function register(options: TelemetryOptions): Telemetry {
  const env = options.env ?? process.env;
  const onGoogleCloud = !!env.K_SERVICE;
  const spanExporter = options.exporters?.spans ?? (onGoogleCloud ? new TraceExporter({ projectId: options.projectId }) : undefined);
  const metricExporter = options.exporters?.metrics ?? (onGoogleCloud ? new MetricExporter({ projectId: options.projectId }) : undefined);

  // Exporter errors go to stderr as warnings (never to a handler): telemetry must not fail a step.
  diag.setLogger({ error: console.error, warn: console.warn, info: () => {}, debug: () => {}, verbose: () => {} }, DiagLogLevel.WARN);

  const resource = resourceFromAttributes({
    'service.name': options.service,
    'service.namespace': 'pec-pipeline',
    'deployment.environment.name': options.environment,
  }).merge(onGoogleCloud ? detectResources({ detectors: [new GcpDetectorSync()] }) : resourceFromAttributes({}));

  const spanProcessors: SpanProcessor[] = spanExporter
    ? [options.exporters?.spans ? new SimpleSpanProcessor(spanExporter) : new BatchSpanProcessor(spanExporter, { scheduledDelayMillis: 1_000 })]
    : [];
  const tracerProvider = new NodeTracerProvider({ resource, sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }), spanProcessors });
  // Registers the AsyncLocalStorage context manager and the W3C trace-context propagator as well.
  tracerProvider.register();

  const meterProvider = metricExporter
    ? new MeterProvider({
        resource,
        readers: [new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000, exportTimeoutMillis: FLUSH_TIMEOUT_MS })],
      })
    : undefined;
  if (meterProvider) metrics.setGlobalMeterProvider(meterProvider);

  let lastMetricFlush = 0;
  const bounded = (p: Promise<unknown>) => Promise.race([p, new Promise((r) => setTimeout(r, FLUSH_TIMEOUT_MS).unref())]);
  const telemetry: Telemetry = {
    async flush() {
      const work: Promise<unknown>[] = [tracerProvider.forceFlush()];
      if (meterProvider && Date.now() - lastMetricFlush >= MIN_METRIC_FLUSH_INTERVAL_MS) {
        lastMetricFlush = Date.now();
        work.push(meterProvider.forceFlush());
      }
      await bounded(Promise.all(work));
    },
    async shutdown() {
      await bounded(Promise.all([tracerProvider.shutdown(), meterProvider?.shutdown()]));
    },
  };
  // Cloud Run sends SIGTERM 10 s before stopping an instance: the last metrics and spans go out then.
  process.once('SIGTERM', () => void telemetry.shutdown());
  return telemetry;
}
