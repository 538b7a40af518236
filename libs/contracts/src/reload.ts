import { z } from 'zod';
import { checkMessage, text, type DecodeResult } from './check.ts';

/** Control subject on which a reload request makes services re-read (or replace) their config. */
export const RELOAD_SUBJECT = 'vigil.control.reload';

/** The largest config a reload request may carry. */
export const MAX_RELOAD_CONFIG_BYTES = 1024 * 1024;

/** A reload request: re-read the config file, or apply `config` (YAML text) instead. */
export const ReloadRequestSchema = z.object({
  v: z.literal(1),
  /** YAML, validated as a config file is; absent: re-read the file the service started from. */
  config: z
    .string()
    .refine((s) => Buffer.byteLength(s, 'utf8') <= MAX_RELOAD_CONFIG_BYTES, { error: `must be at most ${MAX_RELOAD_CONFIG_BYTES} bytes` })
    .optional(),
  /** Who asked, for the log. */
  requestedBy: text(128).optional(),
});
export type ReloadRequest = z.infer<typeof ReloadRequestSchema>;

/**
 * Validates a reload request. An empty payload (nothing, null, `{}`) is the plain "re-read
 * your config" that came before the schema, and reads as `{ v: 1 }`. Never throws.
 */
export function parseReloadRequest(input: unknown): DecodeResult<ReloadRequest> {
  const empty = input === undefined || input === null || input === '' || (typeof input === 'object' && !Array.isArray(input) && Object.keys(input).length === 0);
  return checkMessage('reloadRequest', ReloadRequestSchema, empty ? { v: 1 } : input);
}
