/** Handler for a control message; `reply` is set when the sender awaits an answer. */
export type ControlHandler = (data: unknown) => void;
export type ControlResponder = (data: unknown) => Promise<unknown>;

/**
 * The control plane: config reloads, "ask this camera now", heartbeats. NATS in
 * distributed mode, in-process in standalone mode. Payloads are JSON values.
 */
export interface Control {
  publish(subject: string, data: unknown): Promise<void>;
  /** Returns an unsubscribe function. */
  subscribe(subject: string, handler: ControlHandler): () => void;
  /** Sends a request and waits for one answer; rejects with NoResponderError or on timeout. */
  request(subject: string, data: unknown, timeoutMs: number): Promise<unknown>;
  /** Answers requests on a subject (one responder per subject per process). */
  respond(subject: string, responder: ControlResponder): () => void;
  close(): Promise<void>;
}

/** Nobody serves the subject asked. */
export class NoResponderError extends Error {
  constructor(subject: string) {
    super(`no service answers ${subject}`);
    this.name = 'NoResponderError';
  }
}

/** A responder failed; its message is carried back to the requester. */
export class RemoteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RemoteError';
  }
}
