// Helpers for the ingest tests: short clips made with real ffmpeg, a tiny RTSP server
// that refuses every login, a reader for what ingest wrote to Kafka, and a way to ask
// ingest's ops server for its cameras and metrics.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { uid } from '../helpers/env.ts';

const CLIPS = join(tmpdir(), 'vigil-ingest-test-clips');

/**
 * A small looping H.264 clip (moving test pattern), made once per machine. Small on
 * purpose: several cameras decode it at once on a shared 2-core machine.
 */
export function clip(name = 'pattern', opts: { size?: string; rate?: number; seconds?: number } = {}): string {
  mkdirSync(CLIPS, { recursive: true });
  const size = opts.size ?? '320x180';
  const rate = opts.rate ?? 10;
  const file = join(CLIPS, `${name}-${size}-${rate}.mp4`);
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}.mp4`;
    execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}`, '-t', String(opts.seconds ?? 4), '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(rate), '-y', tmp]);
    execFileSync('mv', [tmp, file]);
  }
  return file;
}

/** A clip with sound and no picture: a "camera" whose stream has no video. */
export function audioOnlyClip(): string {
  mkdirSync(CLIPS, { recursive: true });
  const file = join(CLIPS, 'audio-only.m4a');
  if (!existsSync(file)) execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', '3', '-y', file]);
  return file;
}

/**
 * An RTSP server (real socket, real protocol) that answers OPTIONS and turns every
 * DESCRIBE away with 401 and a Basic challenge: a camera with the wrong password.
 * Records the Authorization headers it was sent, so a test can see credentials were tried.
 */
export async function startRefusingRtspServer(): Promise<{ port: number; authorizations: string[]; close(): Promise<void> }> {
  const authorizations: string[] = [];
  const server: Server = createServer((sock) => {
    let buf = '';
    sock.on('error', () => undefined);
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const req = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const cseq = /^CSeq:\s*(\d+)/im.exec(req)?.[1] ?? '0';
        const auth = /^Authorization:\s*(.+)$/im.exec(req)?.[1];
        if (auth) authorizations.push(auth.trim());
        if (req.startsWith('OPTIONS')) sock.write(`RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n`);
        else sock.write(`RTSP/1.0 401 Unauthorized\r\nCSeq: ${cseq}\r\nWWW-Authenticate: Basic realm="camera"\r\n\r\n`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    authorizations,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
      }),
  };
}

export interface KafkaRecord {
  key: string;
  value: Buffer;
  timestamp: number;
}

/**
 * Reads a topic from the records written at or after `sinceMs` on, keeping those whose
 * key `keep` accepts. Seeks by timestamp, so it sees records written before it joined.
 */
export async function readTopic(broker: string, topic: string, sinceMs: number, keep: (key: string) => boolean) {
  const kafka = new Kafka({ clientId: `ingest-test-${uid()}`, brokers: [broker], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, sinceMs);
  await admin.disconnect();
  const records: KafkaRecord[] = [];
  const consumer: Consumer = kafka.consumer({ groupId: `ingest-test-${uid()}`, maxBytesPerPartition: 8 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: false });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ message }) => {
      const key = message.key?.toString() ?? '';
      if (keep(key)) records.push({ key, value: message.value ?? Buffer.alloc(0), timestamp: Number(message.timestamp) });
    },
  });
  for (const o of offsets) consumer.seek({ topic, partition: o.partition, offset: o.offset });
  return { records, close: () => consumer.disconnect() };
}

/** One camera as ingest's `GET /cameras` reports it. */
export interface CameraView {
  cameraId: string;
  state: string;
  reason: string;
  runs: number;
  restarts: number;
  framesTotal: number;
  ffmpegPid?: number;
  fpsOut?: number;
}

export async function cameras(port: number): Promise<Map<string, CameraView>> {
  const body = (await (await fetch(`http://127.0.0.1:${port}/cameras`)).json()) as { cameras: CameraView[] };
  return new Map(body.cameras.map((c) => [c.cameraId, c]));
}

export async function metricsText(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}
