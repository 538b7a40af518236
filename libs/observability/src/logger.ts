import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * JSON logs on stdout. Known secret fields are censored as a second line of defence;
 * the first is never to pass a camera URL to a log call unredacted.
 */
export function createLogger(name: string, opts: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      name,
      level: opts.level ?? process.env.VIGIL_LOG_LEVEL ?? 'info',
      redact: { paths: ['password', '*.password', 'apiKey', '*.apiKey', 'authorization', '*.authorization', 'token', '*.token'], censor: '***' },
      base: { service: name },
    },
    opts.destination,
  );
}
