/**
 * Makes the README's zone_view pictures: one frame of the demo's street camera (scripts/demo-clips.sh)
 * as Cosmos-Reason1 gets it — ingest's JPEG, Reason1's timestamp band under it — with
 * `zone_view: name` (the frame as it is), with `zone_view: outline` (the road zone drawn
 * by infer's ZoneOutliner) and with `zone_view: crop` (the road's padded box cut from the
 * full-resolution picture in the same decode, as ingest does).
 * Run: node --import tsx scripts/zone-view-pictures.ts
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cropBox, loadConfig } from '@vigil/config';
import { BandSplicer, FrameGroups, JpegSplitter, clipArgs } from '@vigil/media';
import { createLogger } from '@vigil/observability';
import { ZoneOutliner } from '../services/infer/src/outline.ts';

const clip = '.cache/demo/street.mp4';
if (!existsSync(clip)) execFileSync('bash', ['scripts/demo-clips.sh'], { stdio: 'inherit' });
const config = loadConfig('examples/demo.yaml', {});
const camera = config.cameras.find((c) => c.id === 'street-1')!;
const zone = camera.zones.find((z) => z.name === 'road')!;
// Ingest's frames of the clip (4 fps, the camera's width); 5 s in, a pedestrian crosses and cars pass.
const r = spawnSync('ffmpeg', clipArgs(clip, { fps: 4, width: camera.width, crops: [cropBox(zone.polygon)] }), { maxBuffer: 256 << 20 });
if (r.status !== 0) throw new Error(String(r.stderr));
const groups = new FrameGroups(1);
const { picture: frame, crops: [crop] } = new JpegSplitter().push(r.stdout).map((j) => groups.push(j)).filter((g) => g !== undefined)[20]!;
let failed = false;
const outliner = new ZoneOutliner({ ffmpegPath: 'ffmpeg', log: createLogger('pictures', { level: 'warn' }), onFailure: () => (failed = true) });
const [outlined] = (await outliner.outline(camera.id, zone, [{ capturedAt: 0, streamTime: 0, jpeg: frame }])) ?? [];
if (failed || !outlined) throw new Error('cannot outline the frame');
const splicer = await BandSplicer.open({ labels: ['0.00s'] });
mkdirSync('docs/img', { recursive: true });
for (const [name, jpeg] of [['name', frame], ['outline', outlined.jpeg], ['crop', crop!]] as const) {
  const file = `docs/img/zone-view-${name}.jpg`;
  const banded = splicer.splice(jpeg, '0.00s', 'left');
  writeFileSync(file, banded);
  process.stdout.write(`${file}: ${Math.round(banded.length / 1024)} KB\n`);
}
