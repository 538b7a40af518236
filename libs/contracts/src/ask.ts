import type { Finding } from './finding.ts';

/** Control-plane subject on which infer answers ad-hoc questions about a camera. */
export const ASK_SUBJECT = 'vigil.ask';

/** `POST /api/ask` → alerts → `control.request(ASK_SUBJECT, AskRequest)` → infer. */
export interface AskRequest {
  v: 1;
  cameraId: string;
  question: string;
  /** How much recent video to show the model, ms. */
  windowMs: number;
}

/** infer's reply: the model's answer about the latest `windowMs` of the camera. */
export interface AskReply {
  v: 1;
  cameraId: string;
  question: string;
  answer: string;
  reasoning: string;
  windowStart: number;
  windowEnd: number;
  model: string;
  latencyMs: number;
  /** The whole finding (status, verdict, usage…); queryId "ask", not published on vigil.findings. */
  finding?: Finding;
}
