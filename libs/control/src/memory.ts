import { NoResponderError, RemoteError, type Control, type ControlHandler, type ControlResponder } from './control.ts';

/** Control plane within one process (standalone mode). Same semantics as NatsControl. */
export class MemoryControl implements Control {
  private readonly subs = new Map<string, Set<ControlHandler>>();
  private readonly responders = new Map<string, ControlResponder>();
  private closed = false;

  async publish(subject: string, data: unknown): Promise<void> {
    this.assertOpen();
    // Deliver asynchronously and as a copy, as a network transport would.
    const payload = JSON.stringify(data);
    for (const h of this.subs.get(subject) ?? []) queueMicrotask(() => h(JSON.parse(payload)));
  }

  subscribe(subject: string, handler: ControlHandler): () => void {
    let set = this.subs.get(subject);
    if (!set) this.subs.set(subject, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }

  async request(subject: string, data: unknown, timeoutMs: number): Promise<unknown> {
    this.assertOpen();
    const responder = this.responders.get(subject);
    if (!responder) throw new NoResponderError(subject);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`request on ${subject} timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const answer = await Promise.race([
        responder(JSON.parse(JSON.stringify(data))).catch((e: unknown) => {
          throw new RemoteError((e as Error).message);
        }),
        timeout,
      ]);
      return JSON.parse(JSON.stringify(answer ?? null));
    } finally {
      clearTimeout(timer);
    }
  }

  respond(subject: string, responder: ControlResponder): () => void {
    this.responders.set(subject, responder);
    return () => {
      if (this.responders.get(subject) === responder) this.responders.delete(subject);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.subs.clear();
    this.responders.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('control is closed');
  }
}
