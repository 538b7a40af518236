import { pino, type Logger, type DestinationStream } from 'pino';
import type { Scrub } from './redact.ts';

export type { Logger };

/**
 * JSON logs on stdout. Known secret fields are censored, and with `scrub` (the config's
 * secrets, see `scrubber`) every line is scrubbed before it is written, as a second line of
 * defence; the first is never to pass a secret to a log call.
 */
export function createLogger(name: string, opts: { level?: string; destination?: DestinationStream; scrub?: Scrub } = {}): Logger {
  const scrub = opts.scrub;
  return pino(
    {
      name,
      level: opts.level ?? process.env.VIGIL_LOG_LEVEL ?? 'info',
      redact: { paths: ['password', '*.password', 'apiKey', '*.apiKey', 'authorization', '*.authorization', 'token', '*.token'], censor: '***' },
      base: { service: name },
      ...(scrub ? { hooks: { streamWrite: (line: string) => scrub(line) } } : {}),
    },
    opts.destination,
  );
}
