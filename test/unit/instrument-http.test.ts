import { Writable } from 'node:stream';
import type { Request, Response } from '@google-cloud/functions-framework';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { startTelemetry } from '../../functions/telemetry';
import { TerminalError, TransientError } from '../../shared/errors';
import { createLogger } from '../../shared/log';
import { instrumentHttp } from '../../shared/observability/instrument';

/** Just what the handlers and instrumentHttp use of an Express response. */
function fakeResponse() {
  const res = {
    statusCode: 200,
    headers: {} as Record<string, string>,
    body: undefined as unknown,
    set(name: string, value: string) {
      res.headers[name] = value;
      return res;
    },
    status(code: number) {
      res.statusCode = code;
      return res;
    },
    json(body: unknown) {
      res.body = body;
      return res;
    },
  };
  return res;
}

describe("instrumentHttp: span, metric and answer follow the HTTP handler's own outcome", () => {
  const spans = new InMemorySpanExporter();
  const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const telemetry = startTelemetry({ service: 'run-report', projectId: 'p', environment: 'test', exporters: { spans, metrics } });
  const logLines: Record<string, unknown>[] = [];
  const logger = createLogger({ service: 'run-report', projectId: 'p', destination: new Writable({ write: (c, _e, cb) => (logLines.push(JSON.parse(String(c))), cb()) }) });
  let fail: Error | undefined;
  const handler = instrumentHttp(
    { stage: 'run-report', logger, failureMessage: 'run report failed', retryAfterSeconds: 30, terminalStatus: (f) => (f.errorClass === 'invalid_message' ? 422 : 500) },
    async (_req, res) => {
      if (fail) throw fail;
      res.status(200).json({ ok: true });
    },
  );
  const call = async (error?: Error) => {
    fail = error;
    const res = fakeResponse();
    await handler({ method: 'POST' } as Request, res as unknown as Response);
    return { res, span: spans.getFinishedSpans().at(-1)! };
  };

  it("ok: the handler's answer stands, a SERVER span without error", async () => {
    const { res, span } = await call();
    expect(res).toMatchObject({ statusCode: 200, body: { ok: true } });
    expect(span).toMatchObject({ name: 'run-report request', kind: SpanKind.SERVER });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.attributes).toMatchObject({ 'pipeline.outcome': 'ok', 'http.response.status_code': 200 });
  });

  it('transient: 503 + Retry-After, outcome retried, span ERROR with the reason', async () => {
    const { res, span } = await call(new TransientError('BigQuery unavailable', 'internal'));
    expect(res).toMatchObject({ statusCode: 503, headers: { 'Retry-After': '30' }, body: { error: 'BigQuery unavailable', errorClass: 'internal', retry: true } });
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'BigQuery unavailable' });
    expect(span.attributes).toMatchObject({ 'pipeline.outcome': 'retried', 'http.response.status_code': 503 });
    expect(logLines.at(-1)).toMatchObject({ message: 'run report failed', errorClass: 'internal', transient: true });
  });

  it('terminal: the status the function chooses (422 here, 500 otherwise), outcome failed', async () => {
    const refused = await call(new TerminalError('run x has no plan', 'invalid_message'));
    expect(refused.res).toMatchObject({ statusCode: 422, body: { errorClass: 'invalid_message', retry: false } });
    expect(refused.res.headers).toEqual({});
    expect(refused.span.attributes['pipeline.outcome']).toBe('failed');
    const denied = await call(new TerminalError('access denied', 'source_auth'));
    expect(denied.res.statusCode).toBe(500);
    expect(denied.span.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('records the duration metric by outcome', async () => {
    await telemetry.shutdown();
    const points = metrics
      .getMetrics()
      .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
      .filter((m) => m.descriptor.name === 'pipeline.step.duration')
      .flatMap((m) => m.dataPoints.map((p) => ({ ...p.attributes, count: (p.value as { count: number }).count }) as { outcome?: unknown; count: number }));
    expect(points.sort((a, b) => String(a.outcome).localeCompare(String(b.outcome)))).toEqual([
      { stage: 'run-report', outcome: 'failed', count: 2 },
      { stage: 'run-report', outcome: 'ok', count: 1 },
      { stage: 'run-report', outcome: 'retried', count: 1 },
    ]);
  });
});
