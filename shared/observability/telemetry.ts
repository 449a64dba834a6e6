import { metrics, SpanStatusCode, trace, ValueType, type Attributes, type Counter, type Histogram, type Meter, type MeterProvider, type Span } from '@opentelemetry/api';

/**
 * Spans and metrics from shared code, through @opentelemetry/api only: without a registered SDK
 * every call is a no-op, so the local pipeline and the unit tests pay nothing. Entry points
 * (functions/telemetry.ts) register the SDK and Google Cloud's exporters.
 *
 * Metric names follow OpenTelemetry's conventions (dots, units in `unit`); Cloud Monitoring shows
 * them under workload.googleapis.com/<name>. Attributes are low-cardinality on purpose: the table
 * and the failure class, never the municipality (650 × tables × classes would explode the series
 * count and the bill); per-municipality detail belongs in logs and in the run status.
 */

export const INSTRUMENTATION_SCOPE = 'pec-pipeline';

export function tracer() {
  return trace.getTracer(INSTRUMENTATION_SCOPE);
}

interface Instruments {
  rows: Counter;
  bytes: Counter;
  duration: Histogram;
  failures: Counter;
  slices: Counter;
}

// The metrics API has no proxy provider: a meter taken before the SDK registers stays a no-op
// forever. Entry points register the SDK after their imports ran, so instruments are created on
// first use and re-created if the global provider changes.
let cached: { provider: MeterProvider; instruments: Instruments } | undefined;

function instruments(): Instruments {
  const provider = metrics.getMeterProvider();
  if (cached?.provider === provider) return cached.instruments;
  const meter: Meter = provider.getMeter(INSTRUMENTATION_SCOPE);
  const made: Instruments = {
    rows: meter.createCounter('pipeline.rows', { description: 'Rows staged (extract) or inserted into raw tables (load)', unit: '{row}', valueType: ValueType.INT }),
    bytes: meter.createCounter('pipeline.bytes', { description: 'Compressed bytes staged in Cloud Storage', unit: 'By', valueType: ValueType.INT }),
    duration: meter.createHistogram('pipeline.step.duration', {
      description: 'Duration of one function invocation (one message or request)',
      unit: 's',
      advice: { explicitBucketBoundaries: [0.5, 1, 5, 15, 30, 60, 120, 240, 420, 540] },
    }),
    failures: meter.createCounter('pipeline.failures', { description: 'Failed steps by error class and retry decision', unit: '{failure}', valueType: ValueType.INT }),
    slices: meter.createCounter('pipeline.load.slices', {
      description: 'Slices a load applied, skipped as already loaded, or refused as stale',
      unit: '{slice}',
      valueType: ValueType.INT,
    }),
  };
  cached = { provider, instruments: made };
  return made;
}

export type Stage = 'fan-out' | 'extract' | 'load' | 'run-status' | 'run-report';

/**
 * How one invocation ended, as its handler settled it (the `outcome` of `pipeline.step.duration`):
 * `ok`; `retried` (Pub/Sub redelivers, or an HTTP 503 the caller retries); `dead_lettered` (a Pub/Sub
 * message acked into the dead-letter topic); `failed` (an HTTP 5xx the caller does not retry).
 */
export type Outcome = 'ok' | 'retried' | 'dead_lettered' | 'failed';

export const pipelineMetrics = {
  rows(n: number, attributes: { stage: Stage; table: string }): void {
    if (n > 0) instruments().rows.add(n, attributes);
  },
  bytes(n: number, attributes: { stage: Stage; table: string }): void {
    if (n > 0) instruments().bytes.add(n, attributes);
  },
  duration(seconds: number, attributes: { stage: Stage; outcome: Outcome }): void {
    instruments().duration.record(seconds, attributes);
  },
  failure(attributes: { stage: Stage; error_class: string; transient: boolean }): void {
    instruments().failures.add(1, attributes);
  },
  slice(attributes: { table: string; status: string }): void {
    instruments().slices.add(1, attributes);
  },
};

/** Run `fn` in a new active span; exceptions are recorded on the span and rethrown. */
export async function withSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer().startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
      throw err;
    } finally {
      span.end();
    }
  });
}
