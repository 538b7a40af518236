import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ConfigError, configJsonSchema, parseConfig, loadConfig, sharingNotes } from '@vigil/config';

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
  ['zone_view crop (not yet)', ZONED + '    zone: lane\n    zone_view: crop\n', '17: queries[0].zone_view: expected one of "name", "outline", got "crop"'],
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
    'camera dock-1: red-object (4s window, 4 fps, zone lane outlined) / moving, both, none (4s window, 4 fps, no outline) see different frames, so each pays for its own video prefill; the same window, fps, profile and zone outline would let them share one',
  ]);
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
