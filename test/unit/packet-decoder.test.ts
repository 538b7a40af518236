import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { PacketDecoder, TsDemuxer, type DecodedFrame, type TimedPacket } from '@vigil/media';

// PacketDecoder against the real ffmpeg: what it is fed in decode order comes out as JPEGs
// stamped with their capture times.

/** Every picture an IDR (so each is a keyframe), 10 fps, as MPEG-TS. */
function keyframeClip(seconds: number): TimedPacket[] {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=10', '-t', String(seconds), '-c:v', 'libx264', '-g', '1', '-bf', '0', '-f', 'mpegts', 'pipe:1'], { maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr?.toString());
  const d = new TsDemuxer();
  const units = [...d.push(r.stdout), ...d.flush()];
  assert.ok(units.length >= seconds * 10 - 1 && units.every((u) => u.key));
  return units.map((u) => ({ capturedAt: 0, decodeAt: 0, key: true, data: u.data }));
}

function run(packets: TimedPacket[], keyframesOnly: boolean): Promise<{ frames: DecodedFrame[]; exit: string }> {
  return new Promise((resolve) => {
    const frames: DecodedFrame[] = [];
    const dec = new PacketDecoder({
      ffmpegPath: 'ffmpeg',
      codec: 'h264',
      width: 160,
      keyframesOnly,
      baseMs: 1_000_000,
      frame: (f) => frames.push(f),
      exit: (reason) => resolve({ frames, exit: reason }),
    });
    dec.start();
    dec.feed(packets, true);
    dec.drain();
  });
}

test('pictures closer together than a frame interval (a camera start-up burst) all come out; the decoder survives', async () => {
  // Capture times 10 ms apart at 10 fps: in the stream's frame-rate time base they would share a
  // tick, and ffmpeg's encoder refused the second ("Invalid pts"), ending the decoder.
  const base = 1_000_000 + 10_000;
  const packets = keyframeClip(2).map((p, i) => ({ ...p, capturedAt: base + i * 10, decodeAt: base + i * 10 }));
  for (const keyframesOnly of [true, false]) {
    const { frames, exit } = await run(packets, keyframesOnly);
    assert.equal(exit, 'drained', `keyframesOnly=${keyframesOnly}: ${exit}`);
    // The last packet may stay in ffmpeg's parser (it waits for the next one to start).
    assert.ok(frames.length >= packets.length - 1, `keyframesOnly=${keyframesOnly}: ${frames.length} of ${packets.length} pictures`);
    assert.deepEqual(frames.map((f) => f.capturedAt), packets.slice(0, frames.length).map((p) => p.capturedAt));
    for (const f of frames) assert.equal(f.jpeg.readUInt16BE(0), 0xffd8);
  }
});
