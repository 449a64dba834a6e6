import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { RunEvent, RunObserver } from '../ports';
import { pipelineMetrics } from './telemetry';

/**
 * Turns run events into metrics and span events: rows and bytes staged per table, slices applied
 * per table and status, failures by class. Terminal failures never reach the invocation wrapper
 * (the handler acks them), so this is where they mark the active span as failed.
 */
export class MetricsObserver implements RunObserver {
  record(event: RunEvent): void {
    const span = trace.getActiveSpan();
    switch (event.kind) {
      case 'extract_staged':
        if (event.alreadyDone) return;
        for (const t of event.manifest.tables) {
          pipelineMetrics.rows(t.rows, { stage: 'extract', table: t.table });
          pipelineMetrics.bytes(
            t.parts.reduce((n, p) => n + p.bytes, 0),
            { stage: 'extract', table: t.table },
          );
        }
        span?.addEvent('manifest committed', { tables: event.manifest.tables.length, failed_tables: event.manifest.failedTables.length });
        return;
      case 'extract_continued':
        span?.addEvent('time budget used: continuing', { tables_done: event.tablesDone, tables_left: event.tablesLeft });
        return;
      case 'load_finished':
        for (const o of event.outcomes) {
          pipelineMetrics.slice({ table: o.table, status: o.status });
          if (o.status === 'loaded') pipelineMetrics.rows(o.rowsInserted, { stage: 'load', table: o.table });
        }
        return;
      case 'extract_failed':
      case 'load_failed':
        pipelineMetrics.failure({ stage: event.kind === 'extract_failed' ? 'extract' : 'load', error_class: event.errorClass, transient: event.willRetry });
        span?.setStatus({ code: SpanStatusCode.ERROR, message: `${event.errorClass}${event.willRetry ? ' (will retry)' : ' (dead-lettered)'}` });
        span?.setAttribute('pipeline.error_class', event.errorClass);
        return;
      default:
        return;
    }
  }
}

/** Several observers as one; each sees every event, in order. */
export function composeObservers(...observers: RunObserver[]): RunObserver {
  return {
    async record(event) {
      for (const o of observers) await o.record(event);
    },
  };
}
