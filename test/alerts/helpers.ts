import jpeg from 'jpeg-js';
import { Writable } from 'node:stream';
import { io as connect, type Socket } from 'socket.io-client';
import { createLogger } from '@vigil/observability';
import { findingId, type Finding } from '@vigil/contracts';
import type { FindingPolicy } from '@vigil/store';

export const T0 = Date.parse('2026-03-01T08:00:00Z');

/** A positive finding of window `i` (2 s grid, 3.75 s long) on a camera. */
export function finding(camera: string, i: number, answer = 'Yes, a forklift passes within a metre of a worker.', opts: Partial<Finding> = {}): Finding {
  const start = (opts.windowStart ?? T0) + i * 2000;
  const query = opts.queryId ?? 'forklift';
  return {
    v: 1,
    id: findingId(camera, query, start),
    cameraId: camera,
    queryId: query,
    question: 'Is a forklift moving near a person on foot?',
    windowStart: start,
    windowEnd: start + 3750,
    frameCount: 16,
    status: 'ok',
    verdict: true,
    answer,
    reasoning: 'I looked at every frame and saw the forklift approach the worker.',
    rawAnswer: '',
    model: { id: 'nvidia/cosmos-reason1-7b', profile: 'cosmos-reason1', endpoint: 'http://x' },
    usage: { promptTokens: 4800, completionTokens: 200 },
    latencyMs: 900,
    mentionedTimes: [],
    evidence: [],
    createdAt: Date.now(),
    ...opts,
    ...(opts.windowStart !== undefined ? { windowStart: start, windowEnd: start + 3750, id: findingId(camera, query, start) } : {}),
  };
}

export const policy = (over: Partial<FindingPolicy> = {}): FindingPolicy => ({
  severity: 'high',
  cooldownMs: 10_000,
  webhooks: { open: [], update: [], close: [] },
  ...over,
});


/** A small real JPEG of one colour (what evidence frames are: JPEGs, here without the band). */
export function solidJpeg(r: number, g: number, b: number, w = 64, h = 48): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([r, g, b, 255], i * 4);
  return jpeg.encode({ data, width: w, height: h }, 80).data;
}

/** The window's frames as infer attaches them to a positive finding. */
export function evidenceFrames(windowStart: number, n = 8): NonNullable<ReturnType<typeof finding>['evidenceFrames']> {
  return Array.from({ length: n }, (_, k) => ({ capturedAt: windowStart + k * 250, streamTime: k * 0.25, jpeg: solidJpeg(40 + k * 20, 10, 10).toString('base64') }));
}

/** A logger whose output the test can read (to check that no secret is ever logged). */
export function capturedLogger(name: string): { logger: ReturnType<typeof createLogger>; text: () => string } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { logger: createLogger(name, { level: 'debug', destination }), text: () => chunks.join('') };
}

/** A Socket.IO client that records every event it receives. */
export function liveClient(port: number, opts: { token?: string; cameras?: string[]; sites?: string[] } = {}) {
  const events: { event: string; data: any }[] = [];
  const socket: Socket = connect(`http://127.0.0.1:${port}`, {
    transports: ['websocket'],
    reconnection: false,
    auth: { ...(opts.token ? { token: opts.token } : {}), ...(opts.cameras ? { cameras: opts.cameras } : {}), ...(opts.sites ? { sites: opts.sites } : {}) },
  });
  socket.onAny((event: string, data: unknown) => events.push({ event, data }));
  const of = (event: string, pred: (d: any) => boolean = () => true) => events.filter((e) => e.event === event && pred(e.data)).map((e) => e.data);
  return { socket, events, of };
}
