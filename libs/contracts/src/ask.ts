import { z } from 'zod';
import { MessageId, parseMessage, text, TimeMs, type DecodeResult } from './check.ts';
import { FindingSchema } from './finding.ts';

/** Control-plane subject on which infer answers ad-hoc questions about a camera. */
export const ASK_SUBJECT = 'vigil.ask';

/** The longest question an operator may ask. */
export const MAX_ASK_QUESTION = 1000;
const question = text(MAX_ASK_QUESTION).regex(/\S/, { error: 'must not be blank' });

/** `POST /api/ask` → alerts → `control.request(ASK_SUBJECT, AskRequest)` → infer. */
export const AskRequestSchema = z.object({
  v: z.literal(1),
  cameraId: MessageId,
  question,
  /** How much recent video to show the model, ms (infer also holds it to its buffer). */
  windowMs: z.number().min(1000).max(600_000).default(8000),
});
export type AskRequest = z.infer<typeof AskRequestSchema>;

/** Validates an ask request from the control plane. Never throws. */
export function parseAskRequest(input: unknown): DecodeResult<AskRequest> {
  return parseMessage('askRequest', AskRequestSchema, input);
}

/** infer's reply: the model's answer about the latest `windowMs` of the camera. */
export const AskReplySchema = z.object({
  v: z.literal(1),
  cameraId: MessageId,
  question,
  answer: FindingSchema.shape.answer,
  reasoning: FindingSchema.shape.reasoning,
  windowStart: TimeMs,
  windowEnd: TimeMs,
  model: text(256),
  latencyMs: z.number().min(0),
  /** The whole finding (status, verdict, usage…); queryId "ask", not published on vigil.findings. */
  finding: FindingSchema.optional(),
});
export type AskReply = z.infer<typeof AskReplySchema>;

/** Validates infer's reply before alerts passes it on. Never throws. */
export function parseAskReply(input: unknown): DecodeResult<AskReply> {
  return parseMessage('askReply', AskReplySchema, input);
}

/** The body of `POST /api/ask` (alerts turns it into an AskRequest). */
export const AskBodySchema = z.strictObject({
  camera: MessageId.describe('A configured camera id'),
  question: question.describe('What to ask about the latest video'),
  window: z
    .union([z.string().regex(/^\d+(\.\d+)?(ms|s)$/), z.number().min(1000).max(60_000)])
    .optional()
    .describe('"1s" to "60s" (default "8s"), or milliseconds'),
});
export type AskBody = z.infer<typeof AskBodySchema>;
