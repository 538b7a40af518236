import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { ConfigError, configSecrets, parseConfig } from '@vigil/config';
import { Authenticator, MEDIA_COOKIE, MEDIA_SESSION_MS, RequestGuard, requestUrl } from '@vigil/edge';
import { redactText, redactUrl, scrubber } from '@vigil/observability';
import { waitFor } from '../helpers/env.ts';

test('one redactor: passwords with @ and /, secret query parameters, text with URLs', () => {
  assert.equal(redactUrl('rtsp://admin:p@ss@10.0.0.5/s1'), 'rtsp://admin:***@10.0.0.5/s1');
  assert.equal(redactUrl('rtsp://admin:pa/ss@10.0.0.5/s1'), 'rtsp://admin:***@10.0.0.5/s1');
  assert.equal(redactUrl('http://cam.local/video.cgi?user=admin&pwd=Secret123'), 'http://cam.local/video.cgi?user=admin&pwd=***');
  assert.equal(redactUrl('http://h/x?access_token=abc&t=1'), 'http://h/x?access_token=***&t=1');
  assert.equal(redactUrl('https://TOKEN123@github.com/x'), 'https://***@github.com/x');
  assert.equal(redactUrl('rtsp://10.0.0.5:554/stream1'), 'rtsp://10.0.0.5:554/stream1');
  assert.equal(redactText('failed: rtsp://a:b@c/d, "http://x/?password=hunter2"'), 'failed: rtsp://a:***@c/d, "http://x/?password=***"');
  assert.equal(redactUrl('rtsp://viewer:Cam#1x@10.0.0.21/s'), 'rtsp://viewer:***@10.0.0.21/s');
  const scrub = scrubber(['Hunter2@pw', undefined, 'abc']);
  assert.equal(scrub('raw Hunter2@pw encoded Hunter2%40pw short abc'), 'raw *** encoded *** short abc');
  // Linear time on hostile text: a long run of letters, or of '?'.
  const t = Date.now();
  redactText('a'.repeat(1_000_000));
  redactText(`http://x/${'?'.repeat(500_000)}`);
  assert.ok(Date.now() - t < 5000, 'redaction of 1.5 MB took too long');
});

const CONFIG = (extra: string) => `
model: { endpoints: ["http://bob:ModelPass99@10.0.0.9:8000"], api_key: "nim-key-0123456789" }
nats: { url: "nats://ctl:NatsPass77@127.0.0.1:4222" }
cameras:
  - { id: dock-1, url: "rtsp://viewer:CamPass#1x@10.0.0.21/s", password: "OtherPass42" }
${extra}`;

test('config errors never quote a secret, and every secret of a valid config is known to the scrubber', () => {
  const bad = CONFIG(`alerts:
  tokens: [{ name: ops, token: "tooShort99", role: admin }]
  webhooks: [{ id: w, url: "ftp://hook:HookPass55@example.com/x" }]
`);
  let message = '';
  try {
    parseConfig(bad, 'site.yaml', {});
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    message = e.message;
  }
  assert.match(message, /alerts\.tokens\[0\]\.token: use at least 16 characters/);
  assert.match(message, /alerts\.webhooks\[0\]\.url: expected an http\(s\) URL/);
  for (const secret of ['tooShort99', 'HookPass55']) assert.ok(!message.includes(secret), `config error quotes ${secret}: ${message}`);

  const c = parseConfig(CONFIG('alerts: { tokens: [{ name: ops, token: "admin-token-0123456789", role: admin }] }'), 'site.yaml', {});
  const scrub = scrubber(configSecrets(c));
  const text = 'ModelPass99 nim-key-0123456789 NatsPass77 CamPass#1x OtherPass42 admin-token-0123456789';
  assert.equal(scrub(text), '*** *** *** *** *** ***');
});

test('duplicate token names are refused (names say who acted and sign media sessions)', () => {
  assert.throws(
    () => parseConfig(CONFIG('alerts: { tokens: [{ name: a, token: "token-aaaaaaaaaaaaaaaa", role: admin }, { name: a, token: "token-bbbbbbbbbbbbbbbb", role: read }] }'), 'x.yaml', {}),
    /duplicate token name "a"/,
  );
});

const req = (headers: Record<string, string>, url = '/api/incidents'): IncomingMessage => ({ headers, url }) as unknown as IncomingMessage;

test('the guard refuses DNS rebinding with auth off, cross-site origins always, and non-JSON mutations', () => {
  const open = new RequestGuard({ authEnabled: false, allowedHosts: ['vigil.example.com', '.lan'] });
  for (const host of ['127.0.0.1:8080', 'localhost:8080', '[::1]:8080', '10.1.2.3', 'vigil.example.com', 'cam.lan:8080']) assert.equal(open.check(req({ host }), 'read'), undefined, host);
  assert.equal(open.check(req({ host: 'attacker.example:8080' }), 'read')?.status, 421);
  assert.equal(open.check(req({}), 'read')?.status, 421);
  assert.equal(open.check(req({ host: '127.0.0.1:8080', origin: 'http://evil.example' }), 'upgrade')?.status, 403);
  assert.equal(open.check(req({ host: '127.0.0.1:8080', origin: 'null' }), 'mutation')?.status, 403);
  assert.equal(open.check(req({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080', 'content-type': 'application/json' }), 'mutation'), undefined);
  assert.equal(open.check(req({ host: '127.0.0.1:8080', 'content-type': 'text/plain' }), 'mutation')?.status, 415);
  assert.equal(open.check(req({ host: '127.0.0.1:8080', 'content-type': 'application/x-www-form-urlencoded' }), 'mutation')?.status, 415);
  // Behind a reverse proxy the browser's origin is the proxy's name.
  assert.equal(open.check(req({ host: '127.0.0.1:8080', 'x-forwarded-host': 'vigil.corp:443', origin: 'https://vigil.corp:443' }), 'read'), undefined);
  // With tokens, Host is free (the token is the protection) but Origin still counts.
  const closed = new RequestGuard({ authEnabled: true, allowedHosts: [] });
  assert.equal(closed.check(req({ host: 'anything.example' }), 'read'), undefined);
  assert.equal(closed.check(req({ host: 'anything.example', origin: 'http://evil.example' }), 'read')?.status, 403);
});

test('request targets that are not plain paths are recognised, not thrown on', () => {
  for (const bad of ['//', '//evil.example/x', 'http://x/', '*', '', 'x'.repeat(10_000)]) assert.equal(requestUrl(req({}, bad)), undefined, bad.slice(0, 20));
  assert.equal(requestUrl(req({}, '/api/incidents?q=%'))?.pathname, '/api/incidents');
});

test('media sessions: signed per token, expire, die with their token, never stand in for the API', () => {
  const tokens = [
    { name: 'ops', token: 'admin-token-0123456789', role: 'admin' as const },
    { name: 'wall', token: 'read-token-01234567890', role: 'read' as const },
  ];
  const auth = new Authenticator(tokens);
  const now = Date.now();
  const s = auth.mediaSession({ name: 'ops', role: 'admin' }, now)!;
  const cookie = `other=1; ${MEDIA_COOKIE}=${s.value}`;
  const ok = auth.checkMedia(cookie, now + 1000);
  assert.ok(ok.ok && ok.principal.name === 'ops' && ok.principal.role === 'admin');
  assert.equal(auth.checkMedia(cookie, now + MEDIA_SESSION_MS + 1).ok, false);
  const [n, e, sig] = s.value.split('.');
  assert.equal(auth.checkMedia(`${MEDIA_COOKIE}=${n}.${Number(e) + 1}.${sig}`, now).ok, false, 'a longer expiry breaks the signature');
  assert.equal(auth.checkMedia(`${MEDIA_COOKIE}=${Buffer.from('wall').toString('base64url')}.${e}.${sig}`, now).ok, false, "another token's name");
  assert.equal(auth.checkMedia(`${MEDIA_COOKIE}=garbage`, now).ok, false);
  assert.equal(auth.checkMedia(undefined, now).ok, false);
  // The token's removal (or change) ends the session.
  assert.equal(new Authenticator([tokens[1]!]).checkMedia(cookie, now).ok, false);
  assert.equal(new Authenticator([{ ...tokens[0]!, token: 'admin-token-rotated-000' }, tokens[1]!]).checkMedia(cookie, now).ok, false);
  // The cookie is not a bearer token.
  assert.equal(auth.check(s.value, 'read').ok, false);
  // Anything as a credential: a non-string is a 401, not a throw.
  for (const c of [5, {}, [], 'Bearer', 'x'.repeat(10_000)]) assert.equal(auth.check(c, 'read').ok, false);
});

/** Runs a script under the process policy in a child process; resolves with its exit code and output. */
function runPolicy(body: string): Promise<{ code: number | null; out: string }> {
  const script = `
import { createLogger, installProcessPolicy, createRegistry } from '@vigil/observability';
const log = createLogger('policy-test');
const registry = createRegistry('policy-test');
installProcessPolicy({ log, stop: async () => { log.info('stopped cleanly'); }, stopMs: 2000 });
${body}`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

test('process policy: an unhandled rejection is logged, counted and survived; an uncaught exception stops cleanly and exits 70', async () => {
  const survived = await runPolicy(`
Promise.reject(new Error('nobody awaited me'));
setTimeout(async () => { console.log((await registry.metrics()).split('\\n').filter((l) => l.startsWith('vigil_process_faults_total')).join('\\n')); process.exit(0); }, 200);
`);
  assert.equal(survived.code, 0, survived.out);
  assert.match(survived.out, /unhandled promise rejection/);
  assert.match(survived.out, /nobody awaited me/);
  assert.match(survived.out, /vigil_process_faults_total\{kind="unhandled_rejection",service="policy-test"\} 1/);

  const fatal = await runPolicy(`setTimeout(() => { throw new Error('half done'); }, 10); setInterval(() => {}, 1000);`);
  assert.equal(fatal.code, 70, fatal.out);
  assert.match(fatal.out, /uncaught exception/);
  assert.match(fatal.out, /half done/);
  assert.match(fatal.out, /stopped cleanly/);
});

test('keep-alive: responses advertise 5 s and idle sockets are kept past it, so a client reusing one at the limit does not race the close', async () => {
  const { createServer } = await import('node:http');
  const { connect } = await import('node:net');
  const { hardenServer, SERVER_LIMITS } = await import('@vigil/edge');
  // The handler registered before hardening and after it (as alerts does): the hint is set either way.
  for (const early of [true, false]) {
    const server = early ? hardenServer(createServer((_q, r) => r.end('{}'))) : hardenServer(createServer());
    if (!early) server.on('request', (_q, r) => r.end('{}'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const socket = connect((server.address() as { port: number }).port, '127.0.0.1');
      let closedAt = 0;
      socket.on('close', () => (closedAt = Date.now()));
      socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      const head = String(await new Promise<Buffer>((r) => socket.once('data', r)));
      const answeredAt = Date.now();
      assert.match(head, /^keep-alive: timeout=5\r$/im, head);
      assert.equal(head.match(/keep-alive: timeout/gi)?.length, 1, 'one hint');
      if (!early) continue; // the timing once is enough
      const advertised = SERVER_LIMITS.keepAliveTimeoutMs;
      await new Promise((r) => setTimeout(r, advertised + 1500));
      assert.equal(closedAt, 0, 'still open 1.5 s past the advertised timeout');
      // Node itself adds a second to keepAliveTimeout before it closes.
      await waitFor('closed once the grace is over', () => closedAt > 0, SERVER_LIMITS.keepAliveGraceMs + 4000, 100);
      assert.ok(closedAt - answeredAt <= advertised + SERVER_LIMITS.keepAliveGraceMs + 2000, `closed after ${closedAt - answeredAt} ms`);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }
});
