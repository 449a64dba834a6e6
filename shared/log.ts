import pino, { type DestinationStream, type Logger } from 'pino';
import { createGcpLoggingPinoConfig } from '@google-cloud/pino-logging-gcp-config';
import { activeTraceLogFields } from './observability/trace-context';

export type { Logger };

/**
 * Structured logs in Cloud Logging's JSON format (severity, message, trace correlation, labels),
 * produced by Google's pino config rather than by hand. The project id and service name are passed
 * in so that nothing probes the metadata server on a laptop. Anything that looks like a credential
 * is redacted by path as a last line of defence; the code never logs them in the first place.
 */
export function createLogger(options: { service: string; projectId?: string; level?: string; destination?: DestinationStream }): Logger {
  const config = createGcpLoggingPinoConfig(
    {
      serviceContext: { service: options.service },
      traceGoogleCloudProjectId: options.projectId ?? 'local',
      // The config's own diagnostic line goes where the logs go, not to stdout.
      ...(options.destination ? { pinoDestinationStream: options.destination } : {}),
    },
    {
      level: options.level ?? 'info',
      // Trace correlation: the active OpenTelemetry span's ids on every line (none without an SDK).
      mixin: activeTraceLogFields,
      redact: { paths: ['password', '*.password', 'connection.password', 'key', '*.key', 'secret', '*.secret'], censor: '[redacted]' },
    },
  );
  return options.destination ? pino(config, options.destination) : pino(config);
}

/** A logger that writes nowhere (pure unit tests). */
export const silentLogger: Logger = pino({ level: 'silent' });
