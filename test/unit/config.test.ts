import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ConfigError, configJsonSchema, configSecrets, cropBox, parseConfig, loadConfig, queryVersion, sharingNotes, sourceUrl } from '@vigil/config';

const BASE = `model:
  endpoints: ["http://127.0.0.1:8000"]
kafka: { brokers: ["127.0.0.1:9092"] }
postgres: { url: "postgres://postgres@127.0.0.1:5432/vigil" }
cameras:
  - id: dock-1
    url: "rtsp://127.0.0.1:8554/dock-1"
queries:
  - id: red-object
    cameras: [dock-1]
    question: "Is there a red object in view?"
    window: 4s
    every: 2s
`;

function issues(yaml: string, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(yaml, 'vigil.yaml', env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues.map((i) => `${i.line ?? '-'}${i.column ? `:${i.column}` : ''}: ${i.path}: ${i.message}`);
  }
  return [];
}

test('the shipped sample config is valid', () => {
  const c = loadConfig('examples/vigil.yaml', {});
  assert.equal(c.cameras.length, 2);
  assert.equal(c.queries[0]!.windowMs, 4000);
  assert.equal(c.queries[0]!.everyMs, 2000);
  assert.equal(c.cameras[0]!.transport, 'udp');
  assert.equal(c.cameras[1]!.transport, 'tcp');
  assert.equal(c.model.endpoints[0], 'http://127.0.0.1:8000');
  assert.ok(c.queries[0]!.alertWhen.test('Yes, there is'));
  assert.ok(!c.queries[0]!.alertWhen.test('No.'));
});

test('defaults are applied', () => {
  const c = parseConfig(BASE, 'x.yaml', {});
  assert.equal(c.model.profile, 'cosmos-reason1');
  assert.equal(c.model.maxTokens, 4096);
  assert.equal(c.http.port, 8080);
  assert.equal(c.ingest.chunkMs, 1000);
  assert.equal(c.cameras[0]!.fps, 4);
  assert.equal(c.cameras[0]!.width, 640);
  assert.deepEqual(c.alerts.liveView, { width: 960 });
  assert.deepEqual(parseConfig(`${BASE}alerts: { live_view: { width: 480 } }\n`, 'x.yaml', {}).alerts.liveView, { width: 480 });
});

const ZONED = BASE.replace('    url: "rtsp://127.0.0.1:8554/dock-1"\n', '    url: "rtsp://127.0.0.1:8554/dock-1"\n    zones: [{ name: lane, polygon: [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9]] }]\n  - { id: gate, url: "rtsp://h/g" }\n');

// (bad YAML, exact error) pairs: the messages are the product here.
const BAD: [string, string, string][] = [
  ['bad window', BASE.replace('window: 4s', 'window: 4 sec'), '12: queries[0].window: expected a duration like "8s" (got "4 sec")'],
  ['unknown camera', BASE.replace('cameras: [dock-1]', 'cameras: [dock-9]'), '10: queries[0].cameras[0]: unknown camera "dock-9" (known: dock-1)'],
  ['unknown key', BASE.replace('    url: "rtsp', '    colour: red\n    url: "rtsp'), '7: cameras[0]: unknown key "colour"'],
  ['bad profile', BASE.replace('endpoints:', 'profile: reason9\n  endpoints:'), '2: model.profile: expected one of "cosmos-reason1", "cosmos-reason2", "openai-frames", got "reason9"'],
  ['bad transport', BASE.replace('    url: "rtsp', '    transport: quic\n    url: "rtsp'), '7: cameras[0].transport: expected one of "tcp", "udp", got "quic"'],
  ['missing question', BASE.replace('    question: "Is there a red object in view?"\n', ''), '9: queries[0].question: is required'],
  ['bad regex', BASE + '    alert_when: "(("\n', '14: queries[0].alert_when: not a valid regular expression: Invalid regular expression: /((/i: Unterminated group'],
  ['duplicate camera', BASE.replace('queries:', '  - id: dock-1\n    url: "rtsp://h/x"\nqueries:'), '8: cameras[1].id: duplicate camera id "dock-1"'],
  ['window too short', BASE.replace('window: 4s', 'window: 500ms'), '12: queries[0].window: must be at least 1s (got "500ms")'],
  ['too many frames', BASE.replace('window: 4s', 'window: 60s'), '12: queries[0].window: "60s" at camera dock-1\'s 4 fps is more than 128 frames'],
  ['query fps above the camera', BASE.replace('window: 4s', 'window: 4s\n    fps: 8'), '13: queries[0].fps: 8 is more than camera dock-1\'s 4 fps (ingest keeps no more frames than that)'],
  ['too many frames at the query fps', BASE.replace('window: 4s', 'window: 100s\n    fps: 2'), '12: queries[0].window: "100s" at the query\'s 2 fps is more than 128 frames'],
  ['bad url scheme', BASE.replace('"rtsp://127.0.0.1:8554/dock-1"', '"ftp://x"'), "7: cameras[0].url: expected an rtsp://, rtsps://, http(s):// or file:// URL (got \"ftp://x\")"],
  ['bad endpoint', BASE.replace('"http://127.0.0.1:8000"', '"htp:/x y"'), '2: model.endpoints[0]: expected an http(s) URL like "http://127.0.0.1:8000" (got "htp:/x y")'],
  ['query zone not on a selected camera', ZONED.replace('cameras: [dock-1]', 'cameras: [dock-1, gate]') + '    zone: lane\n', '16: queries[0].zone: zone "lane" is not defined on camera gate'],
  ['query zone unknown', ZONED + '    zone: dock\n', '16: queries[0].zone: zone "dock" is not defined on camera dock-1'],
  ['query zone and trigger zone differ', ZONED + '    trigger: { type: motion, zone: lane }\n    zone: dock\n', '17: queries[0].zone: zone "dock" is not the trigger\'s zone "lane" (a query looks at one zone)'],
  ['outline without a zone', ZONED + '    zone_view: outline\n', '16: queries[0].zone_view: outline needs a zone (the query\'s zone: or its trigger\'s)'],
  ['crop without a zone', ZONED + '    zone_view: crop\n', '16: queries[0].zone_view: crop needs a zone (the query\'s zone: or its trigger\'s)'],
  ['unknown zone_view', ZONED + '    zone: lane\n    zone_view: zoom\n', '17: queries[0].zone_view: expected one of "name", "outline", "crop", got "zoom"'],
  ['{zone} without a zone', ZONED.replace('Is there a red object in view?', 'Is there a red object in {zone}?'), '13: queries[0].question: {zone} needs a zone (the query\'s zone: or its trigger\'s)'],
  ['yaml syntax', 'model: [1, 2\n', '2:1: : Flow sequence in block collection must be sufficiently indented and end with a ]'],
  // The parser reports six errors here, one per token after the first: only the first is shown.
  ['yaml syntax, first error only', 'a: b\n  c: d\n  e: [\nx: {y\n', '1:4: : Nested mappings are not allowed in compact mappings'],
];

for (const [name, yaml, expected] of BAD) {
  test(`rejects ${name} with a message naming the path`, () => {
    const got = issues(yaml);
    if (name.startsWith('yaml syntax')) assert.deepEqual(got, [expected]);
    else assert.ok(got.includes(expected), `expected ${JSON.stringify(expected)} in ${JSON.stringify(got, null, 1)}`);
  });
}

test('substitutes ${ENV} and ${ENV:-default}, and names unset variables', () => {
  const yaml = BASE.replace('"rtsp://127.0.0.1:8554/dock-1"', '"rtsp://cam:${CAM_PASS}@10.0.0.9/${CAM_PATH:-live}"');
  const c = parseConfig(yaml, 'x.yaml', { CAM_PASS: 's3:cr#t' });
  assert.equal(c.cameras[0]!.url, 'rtsp://cam:s3:cr#t@10.0.0.9/live');
  assert.deepEqual(issues(yaml, {}), ['7: cameras[0].url: environment variable CAM_PASS is not set (use ${CAM_PASS:-default} for a fallback)']);
});

test('the error message lists every issue with file and line', () => {
  const yaml = BASE.replace('window: 4s', 'window: 4 sec').replace('every: 2s', 'every: often');
  try {
    parseConfig(yaml, 'site.yaml', {});
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /site\.yaml:12: queries\[0\]\.window: expected a duration like "8s"/);
    assert.match(e.message, /site\.yaml:13: queries\[0\]\.every: expected a duration like "8s"/);
  }
});

test('the published JSON Schema matches the code', () => {
  const published = JSON.parse(readFileSync('schema/vigil.schema.json', 'utf8')) as unknown;
  assert.deepEqual(published, configJsonSchema(), 'run `npx vigil schema --out schema/vigil.schema.json`');
});

test('validate names what keeps a camera\'s questions from sharing one video prefill', () => {
  const config = parseConfig(
    `model: { endpoints: [] }
cameras:
  - { id: dock-1, url: "rtsp://h/d" }
  - { id: gate, url: "rtsp://h/g" }
queries:
  - { id: a, cameras: [dock-1, gate], question: "?", window: 8s, every: 2s }
  - { id: b, cameras: [dock-1, gate], question: "?", window: 8s, every: 2s }
  - { id: c, cameras: [dock-1], question: "?", window: 8s, every: 4s }
  - { id: d, cameras: [dock-1], question: "?", window: 8s, every: 2s, fps: 2 }
`,
    'vigil.yaml',
    {},
  );
  assert.deepEqual(sharingNotes(config), [
    'camera dock-1: a, b, c (8s window, 4 fps) / d (8s window, 2 fps) see different frames, so each pays for its own video prefill; the same window, fps and profile would let them share one',
    'camera dock-1: a (every 2s), b (every 2s), c (every 4s) share a prefill only when their windows end together (every 4s); the same every would share every window',
  ]);
  // The gate camera's two queries share every window: nothing to say. Sharing off: nothing at all.
  assert.deepEqual(sharingNotes(parseConfig(`model: { endpoints: [], share: none }\ncameras:\n  - { id: g, url: "rtsp://h/g" }\nqueries:\n  - { id: a, cameras: [g], question: "?", window: 8s, every: 2s }\n  - { id: b, cameras: [g], question: "?", window: 4s, every: 2s }\n`, 'v.yaml', {})), []);
});

test('a query\'s zone: its own zone: key or its trigger\'s; zone_view defaults to name, and an outline keeps its questions apart', () => {
  const c = parseConfig(
    `${ZONED}    zone: lane
    zone_view: outline
  - { id: moving, cameras: [dock-1], question: "?", window: 4s, every: 2s, trigger: { type: motion, zone: lane } }
  - { id: both, cameras: [dock-1], question: "?", window: 4s, every: 2s, trigger: { type: motion, zone: lane }, zone: lane }
  - { id: none, cameras: [dock-1, gate], question: "?", window: 4s, every: 2s }
`,
    'z.yaml',
    {},
  );
  assert.deepEqual(
    c.queries.map((q) => [q.id, q.zone, q.zoneView]),
    [
      ['red-object', 'lane', 'outline'],
      ['moving', 'lane', 'name'],
      ['both', 'lane', 'name'],
      ['none', undefined, 'name'],
    ],
  );
  assert.deepEqual(sharingNotes(c), [
    'camera dock-1: red-object (4s window, 4 fps, zone lane outlined) / moving, both, none (4s window, 4 fps, whole scene) see different frames, so each pays for its own video prefill; the same window, fps, profile and zone view would let them share one',
  ]);
});

test('zone_view: crop — the camera gets the zone\'s padded box to cut, decodes continuously, and the crop is its own share class and version', () => {
  const yaml = (view: string, decode = 'on_demand') => `${ZONED.replace('cameras:\n', `ingest: { decode: ${decode} }\ncameras:\n`)}    zone: lane${view}\n  - { id: whole, cameras: [dock-1], question: "?", window: 4s, every: 2s, zone: lane }\n`;
  const cropped = parseConfig(yaml('\n    zone_view: crop'), 'z.yaml', {});
  const named = parseConfig(yaml(''), 'z.yaml', {});
  const dock = (c: typeof cropped) => c.cameras.find((cam) => cam.id === 'dock-1')!;
  const lane = dock(cropped).zones.find((z) => z.name === 'lane')!;
  assert.deepEqual(dock(cropped).crops, [{ zone: 'lane', box: cropBox(lane.polygon) }]);
  assert.equal(dock(cropped).decode, 'continuous', 'a crop needs the full-resolution decode');
  // Cameras no crop query watches keep what they were given.
  assert.equal(dock(named).crops, undefined);
  assert.equal(dock(named).decode, 'on_demand');
  assert.equal(cropped.cameras.find((cam) => cam.id === 'gate')!.crops, undefined);
  assert.notEqual(queryVersion(cropped.queries[0]!), queryVersion(named.queries[0]!));
  assert.deepEqual(sharingNotes(cropped), [
    'camera dock-1: red-object (4s window, 4 fps, zone lane cropped) / whole (4s window, 4 fps, whole scene) see different frames, so each pays for its own video prefill; the same window, fps, profile and zone view would let them share one',
  ]);
});

test('ingest.busy_after: a duration, 60 s by default, 0s for never; anything else names the key', () => {
  const base = 'model: { endpoints: [] }\ncameras: [{ id: c1, url: "rtsp://h/s" }]\nqueries: [{ id: q, cameras: [c1], question: "?", window: 4s, every: 2s }]\n';
  assert.equal(parseConfig(base, 'b.yaml', {}).ingest.busyAfterMs, 60_000);
  assert.equal(parseConfig(`${base}ingest: { decode: on_demand, busy_after: 90s }\n`, 'b.yaml', {}).ingest.busyAfterMs, 90_000);
  assert.equal(parseConfig(`${base}ingest: { busy_after: 0s }\n`, 'b.yaml', {}).ingest.busyAfterMs, 0);
  assert.throws(() => parseConfig(`${base}ingest: { busy_after: soon }\n`, 'b.yaml', {}), (e: Error) => /ingest\.busy_after/.test(e.message) && /duration/.test(e.message));
});

test('detect_url: parsed with its rate (2 fps by default), its password a secret, the camera\'s credentials applied; refused on file:// with credentials', () => {
  const yaml = (cam: string) => `model: { endpoints: [] }\ningest: { decode: on_demand }\ncameras: [${cam}]\nqueries: [{ id: q, cameras: [c1], question: "?", window: 4s, every: 2s }]\n`;
  const c = parseConfig(yaml('{ id: c1, url: "rtsp://h/main", detect_url: "rtsp://u:sub-pass@h/sub" }'), 'd.yaml', {});
  assert.equal(c.cameras[0]!.detectUrl, 'rtsp://u:sub-pass@h/sub');
  assert.equal(c.cameras[0]!.detectFps, 2);
  assert.ok(configSecrets(c).includes('sub-pass'), 'the substream password is scrubbed like the main one');
  const withCreds = parseConfig(yaml('{ id: c1, url: "rtsp://h/main", detect_url: "rtsp://h/sub", detect_fps: 5, username: viewer, password: "p@ss" }'), 'd.yaml', {});
  assert.equal(sourceUrl(withCreds.cameras[0]!, withCreds.cameras[0]!.detectUrl), 'rtsp://viewer:p%40ss@h/sub');
  assert.equal(withCreds.cameras[0]!.detectFps, 5);
  assert.throws(() => parseConfig(yaml('{ id: c1, url: "rtsp://h/main", detect_url: "file:///tmp/x.mp4", password: x }'), 'd.yaml', {}), /detect_url: credentials need a network URL/);
  assert.throws(() => parseConfig(yaml('{ id: c1, url: "rtsp://h/main", detect_url: "ftp://h/sub" }'), 'd.yaml', {}), /detect_url/);
  assert.throws(() => parseConfig(yaml('{ id: c1, url: "rtsp://h/main", detect_url: "rtsp://h/sub", detect_fps: 20 }'), 'd.yaml', {}), /detect_fps/);
});

test('cropBox: the bounding box padded by a tenth, at least a fifth of the picture a side, kept inside it', () => {
  assert.deepEqual(cropBox([[0.5, 0.5], [0.9, 0.5], [0.9, 0.9], [0.5, 0.9]]), { x: 0.46, y: 0.46, w: 0.48, h: 0.48 });
  // A tiny zone grows around its centre to the smallest side.
  assert.deepEqual(cropBox([[0.5, 0.5], [0.52, 0.5], [0.51, 0.53]]), { x: 0.41, y: 0.415, w: 0.2, h: 0.2 });
  // At the picture's edge the box shifts inward rather than shrinking.
  assert.deepEqual(cropBox([[0, 0], [0.05, 0], [0.05, 0.05]]), { x: 0, y: 0, w: 0.2, h: 0.2 });
  assert.deepEqual(cropBox([[0.9, 0.8], [1, 0.8], [1, 1]]), { x: 0.8, y: 0.76, w: 0.2, h: 0.24 });
  // The whole picture stays the whole picture.
  assert.deepEqual(cropBox([[0, 0], [1, 0], [1, 1], [0, 1]]), { x: 0, y: 0, w: 1, h: 1 });
});

test('shadow: names another, non-shadow query watching a superset of its cameras; in the version', () => {
  const two = `${BASE.replace('  - id: dock-1\n    url: "rtsp://127.0.0.1:8554/dock-1"\n', '  - id: dock-1\n    url: "rtsp://127.0.0.1:8554/dock-1"\n  - id: dock-2\n    url: "rtsp://127.0.0.1:8554/dock-2"\n')}`;
  const shadowOf = (target: string, cams = '[dock-1]') => `  - id: red-alt\n    cameras: ${cams}\n    question: "Any red thing?"\n    window: 4s\n    every: 2s\n    shadow: ${target}\n`;
  const c = parseConfig(two + shadowOf('red-object'), 'c.yaml', {});
  assert.equal(c.queries[1]!.shadow, 'red-object');
  assert.equal(c.queries[0]!.shadow, undefined);
  // The same query with and without `shadow` is another version (it behaves differently).
  const q = c.queries[1]!;
  assert.notEqual(queryVersion(q), queryVersion({ ...q, shadow: undefined }));
  assert.equal(queryVersion(c.queries[0]!), queryVersion(parseConfig(BASE, 'c.yaml', {}).queries[0]!));
  assert.deepEqual(issues(two + shadowOf('nope')), ['21: queries[1].shadow: unknown query "nope" (known: red-object)']);
  assert.deepEqual(issues(two + shadowOf('red-alt')), ['21: queries[1].shadow: a query cannot shadow itself']);
  assert.deepEqual(issues(two + shadowOf('red-object', '[dock-1, dock-2]')), ['17: queries[1].cameras: camera dock-2 is not watched by "red-object" (a shadow watches only cameras of the query it shadows)']);
  const chain = two + shadowOf('red-object') + shadowOf('red-alt').replace('id: red-alt', 'id: red-alt-2');
  assert.deepEqual(issues(chain), ['27: queries[2].shadow: "red-alt" is itself a shadow (of "red-object"): shadow the query it shadows']);
  const hook = `${two + shadowOf('red-object')}alerts:\n  webhooks:\n    - id: ops\n      url: "http://127.0.0.1:9/hook"\n      queries: [red-alt]\n`;
  assert.deepEqual(issues(hook), ['26: alerts.webhooks[0].queries[0]: "red-alt" is a shadow query: it never calls webhooks']);
});

test('confirm and clear_after: normalised, checked, and in the query version only when set', () => {
  const yaml = (extra: string) => BASE.replace('    every: 2s\n', `    every: 2s\n${extra}`);
  const plain = parseConfig(BASE, 'c.yaml', {});
  const c = parseConfig(yaml('    confirm: { of: 3, need: 2 }\n    clear_after: 2\n'), 'c.yaml', {});
  assert.deepEqual(c.queries[0]!.confirm, { of: 3, need: 2 });
  assert.equal(c.queries[0]!.clearAfter, 2);
  assert.equal(plain.queries[0]!.confirm, undefined);
  assert.throws(() => parseConfig(yaml('    confirm: { of: 2, need: 3 }\n'), 'c.yaml', {}), /c\.yaml:\d+: queries\[0\]\.confirm: `need` must be at most `of`/);
  assert.throws(() => parseConfig(yaml('    confirm: { of: 3 }\n'), 'c.yaml', {}), /queries\[0\]\.confirm\.need: is required/);
  assert.throws(() => parseConfig(yaml('    clear_after: 0\n'), 'c.yaml', {}), /queries\[0\]\.clear_after/);
});
