import { connect, JSONCodec, ErrorCode, type NatsConnection, type NatsError } from 'nats';
import { NoResponderError, RemoteError, type Control, type ControlHandler, type ControlResponder } from './control.ts';

const codec = JSONCodec<unknown>();

/** Control plane over NATS core subjects (request/reply for "ask now"). */
export class NatsControl implements Control {
  private constructor(private readonly nc: NatsConnection) {}

  static async connect(url: string, name = 'vigil'): Promise<NatsControl> {
    const nc = await connect({ servers: url, name, maxReconnectAttempts: -1, reconnectTimeWait: 1000 });
    return new NatsControl(nc);
  }

  async publish(subject: string, data: unknown): Promise<void> {
    this.nc.publish(subject, codec.encode(data));
    await this.nc.flush();
  }

  subscribe(subject: string, handler: ControlHandler): () => void {
    const sub = this.nc.subscribe(subject, { callback: (err, msg) => !err && handler(safeDecode(msg.data)) });
    return () => sub.unsubscribe();
  }

  async request(subject: string, data: unknown, timeoutMs: number): Promise<unknown> {
    try {
      const msg = await this.nc.request(subject, codec.encode(data), { timeout: timeoutMs });
      const body = safeDecode(msg.data) as { ok?: boolean; value?: unknown; error?: string };
      if (body && body.ok === false) throw new RemoteError(body.error ?? 'remote error');
      return body?.value ?? null;
    } catch (e) {
      const code = (e as NatsError).code;
      if (code === ErrorCode.NoResponders) throw new NoResponderError(subject);
      if (code === ErrorCode.Timeout) throw new Error(`request on ${subject} timed out after ${timeoutMs} ms`);
      throw e;
    }
  }

  respond(subject: string, responder: ControlResponder): () => void {
    // A queue group, so several replicas share requests instead of all answering.
    const sub = this.nc.subscribe(subject, {
      queue: `responders.${subject}`,
      callback: (err, msg) => {
        if (err) return;
        responder(safeDecode(msg.data)).then(
          (value) => msg.respond(codec.encode({ ok: true, value: value ?? null })),
          (e: unknown) => msg.respond(codec.encode({ ok: false, error: (e as Error).message })),
        );
      },
    });
    return () => sub.unsubscribe();
  }

  async close(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.drain();
  }
}

function safeDecode(data: Uint8Array): unknown {
  try {
    return codec.decode(data);
  } catch {
    return null;
  }
}
