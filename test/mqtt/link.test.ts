import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MqttLink, type MqttLinkOptions } from '@vigil/mqtt';
import { createLogger } from '@vigil/observability';
import { Broker, rawClient, retained, sleep, until } from '../helpers/mosquitto.ts';
import { uid } from '../helpers/env.ts';

// One private Mosquitto for the file (the outage test restarts it on the same port).
let broker: Broker;
const links: MqttLink[] = [];
before(async () => {
  broker = await Broker.start();
});
after(async () => {
  await Promise.all(links.map((l) => l.close()));
  await broker.dispose();
});

/** Every log line the link writes, as text, so a test can search them. */
function capture(): { lines: string[]; log: MqttLinkOptions['log'] } {
  const lines: string[] = [];
  return { lines, log: createLogger('mqtt-test', { level: 'debug', destination: { write: (s: string) => void lines.push(s) } }) };
}

function open(opts: Partial<MqttLinkOptions> & { availability: MqttLinkOptions['availability'] }): MqttLink {
  const link = new MqttLink({ url: broker.url, log: capture().log, ...opts });
  links.push(link);
  return link;
}

test('connects, publishes online retained, and a QoS 1 publish resolves true and is delivered', async () => {
  const id = uid();
  const availability = { topic: `vigil/${id}/status`, qos: 1 as const };
  const link = open({ availability });
  await until('connected', () => link.connected);
  assert.equal(await retained(broker.url, availability.topic), 'online');

  const sub = await rawClient(broker.url);
  const got: string[] = [];
  sub.on('message', (t, p) => got.push(`${t}=${p.toString()}`));
  await sub.subscribeAsync(`vigil/${id}/events`, { qos: 1 });
  assert.equal(await link.publish(`vigil/${id}/events`, 'hello', { qos: 1 }), true);
  await until('the subscriber got it', () => got.length === 1);
  assert.deepEqual(got, [`vigil/${id}/events=hello`]);
  await sub.endAsync();
});

test('inbound: a throwing handler does not break the link; oversized payloads never reach a handler', async () => {
  const id = uid();
  const { lines, log } = capture();
  const link = open({ availability: { topic: `vigil/${id}/status`, qos: 1 }, log, maxPayloadBytes: 1024 });
  const seen: string[] = [];
  link.subscribe(`in/${id}/#`, (topic, payload) => {
    seen.push(`${topic}:${payload.length}`);
    if (topic.endsWith('/boom')) throw new Error('handler exploded');
  });
  await until('connected', () => link.connected);
  const pub = await rawClient(broker.url);
  await pub.publishAsync(`in/${id}/boom`, 'x', { qos: 1 });
  await pub.publishAsync(`in/${id}/big`, Buffer.alloc(4096, 1), { qos: 1 });
  await pub.publishAsync(`in/${id}/a/b`, 'ok', { qos: 1 });
  await until('the message after the failure', () => seen.includes(`in/${id}/a/b:2`));
  await pub.endAsync();
  assert.deepEqual(seen, [`in/${id}/boom:1`, `in/${id}/a/b:2`]);
  assert.ok(lines.some((l) => l.includes('handler failed') && l.includes('handler exploded')));
  assert.ok(lines.some((l) => l.includes('over the size limit') && l.includes('"bytes":4096')));
  assert.equal(link.connected, true);
});

test('last will: a process killed with its link open leaves offline retained', async () => {
  const id = uid();
  const topic = `vigil/${id}/status`;
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./link-child.ts', import.meta.url))], {
    env: { ...process.env, MQTT_URL: broker.url, MQTT_AVAILABILITY: topic },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the child never connected')), 20_000);
      child.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`the child exited ${code}`)));
    });
    assert.equal(await retained(broker.url, topic), 'online');
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
  let last: string | undefined;
  await until('offline retained', async () => (last = await retained(broker.url, topic, 300)) === 'offline', 10_000);
});

test('broker outage: bounded queue drops the oldest, reconnects by itself, sends survivors in order, renews subscriptions', async () => {
  const id = uid();
  const availability = { topic: `vigil/${id}/status`, qos: 1 as const };
  const dropped: number[] = [];
  const states: boolean[] = [];
  const link = open({ availability, maxQueued: 5, onDropped: (n) => dropped.push(n), onState: (c) => states.push(c) });
  let connects = 0;
  link.onConnect(() => void connects++);
  const got: string[] = [];
  link.subscribe(`q/${id}/+`, (topic, payload) => void got.push(`${topic.split('/')[2]}=${payload.toString()}`), { qos: 1 });
  await until('connected', () => link.connected && connects === 1);

  await broker.stop();
  await until('the link noticed', () => !link.connected);
  await assert.rejects(link.publishNow(`q/${id}/now`, 'x', { qos: 1 }), /not connected/);
  const sent = Array.from({ length: 8 }, (_, i) => link.publish(`q/${id}/m`, `m${i}`, { qos: 1 }));
  // The three oldest are dropped at once, without waiting for the broker.
  assert.deepEqual(await Promise.all(sent.slice(0, 3)), [false, false, false]);
  assert.equal(link.dropped, 3);
  assert.equal(dropped.reduce((a, b) => a + b, 0), 3);
  await sleep(3_000);
  assert.equal(link.connected, false);

  const restarted = Date.now();
  await broker.start();
  assert.deepEqual(await Promise.all(sent.slice(3)), [true, true, true, true, true]);
  const reconnectMs = Date.now() - restarted;
  await until('survivors delivered', () => got.length >= 5);
  assert.deepEqual(got, ['m=m3', 'm=m4', 'm=m5', 'm=m6', 'm=m7']);
  await until('onConnect ran again', () => connects === 2);
  assert.deepEqual(states, [true, false, true]);
  assert.equal(await retained(broker.url, availability.topic), 'online');

  // Renewed subscription: a message published now, by someone else, reaches the handler.
  const pub = await rawClient(broker.url);
  await pub.publishAsync(`q/${id}/later`, 'after', { qos: 1 });
  await pub.endAsync();
  await until('the post-reconnect message', () => got.includes('later=after'));
  assert.ok(reconnectMs < 16_000, `reconnected ${reconnectMs} ms after the broker came back`);
});

/** A connected link that receives what it publishes on `f/<id>/…`. */
async function selfSubscribed(): Promise<{ id: string; link: MqttLink; got: string[] }> {
  const id = uid();
  const link = open({ availability: { topic: `vigil/${id}/status`, qos: 1 } });
  const got: string[] = [];
  link.subscribe(`f/${id}/+`, (_t, payload) => void got.push(payload.toString()), { qos: 1 });
  await until('connected', () => link.connected);
  return { id, link, got };
}

/** Publishes with `send` while the broker reads nothing, then kills it: what was written is never acknowledged. */
async function killedInFlight<T>(link: MqttLink, send: () => T): Promise<T> {
  broker.pause();
  const sent = send();
  await sleep(200);
  await broker.kill();
  await until('the link noticed', () => !link.connected);
  return sent;
}

test('messages in flight when the broker dies are sent again, in order, after the reconnect', async () => {
  const { id, link, got } = await selfSubscribed();
  const sent = await killedInFlight(link, () => ['a', 'b', 'c'].map((m) => link.publish(`f/${id}/m`, m, { qos: 1 })));
  await broker.start();
  assert.deepEqual(await Promise.all(sent), [true, true, true]);
  await until('all three delivered', () => got.length >= 3);
  assert.deepEqual(got, ['a', 'b', 'c']);
  assert.equal(link.dropped, 0);
});

test('current-only state is never queued while disconnected, and is dropped, not sent again, when the broker dies before taking it', async () => {
  const { id, link, got } = await selfSubscribed();
  const [state, event] = await killedInFlight(link, () => [
    link.publish(`f/${id}/state`, 'stale', { qos: 1, currentOnly: true }),
    link.publish(`f/${id}/event`, 'event', { qos: 1 }),
  ]);
  assert.equal(await link.publish(`f/${id}/state`, 'while away', { qos: 1, currentOnly: true }), false, 'not queued while away');
  await broker.start();
  assert.equal(await state, false, 'dropped with the connection');
  assert.equal(await event, true, 'an ordinary message is still sent again');
  await until('the event delivered', () => got.includes('event'));
  await sleep(500); // a resent state would arrive by now
  assert.deepEqual(got, ['event']);
});

test('shared subscription: 20 messages over two links, each delivered exactly once', async () => {
  const id = uid();
  const received: string[][] = [[], []];
  for (const i of [0, 1]) {
    const link = open({ availability: { topic: `vigil/${id}/status${i}`, qos: 1 } });
    link.subscribe(`$share/g${id}/t${id}/+/ask`, (_topic, payload) => void received[i]!.push(payload.toString()), { qos: 1 });
    await until('connected', () => link.connected);
  }
  const pub = await rawClient(broker.url);
  for (let n = 0; n < 20; n++) await pub.publishAsync(`t${id}/${n}/ask`, String(n), { qos: 1 });
  await pub.endAsync();
  await until('20 deliveries', () => received[0]!.length + received[1]!.length >= 20);
  await sleep(500); // a duplicate would arrive in this time
  const all = [...received[0]!, ...received[1]!];
  assert.equal(all.length, 20);
  assert.equal(new Set(all).size, 20);
  assert.ok(received[0]!.length > 0 && received[1]!.length > 0, `split ${received[0]!.length}/${received[1]!.length}`);
});

test('wrong password: no crash, never connected, the password in no log line, one authorisation line', async () => {
  const password = `Right-${uid()}-pass`;
  const wrong = `Wr0ng-${uid()}-secret`;
  const authBroker = await Broker.start({ vigil: password });
  try {
    const { lines, log } = capture();
    const link = new MqttLink({ url: authBroker.url, username: 'vigil', password: wrong, availability: { topic: 'vigil/auth/status', qos: 1 }, log });
    await until('three attempts refused', () => lines.filter((l) => l.includes('reconnect scheduled')).length >= 3, 15_000);
    assert.equal(link.connected, false);
    await link.close();
    await link.close();
    const text = lines.join('');
    assert.ok(!text.includes(wrong), 'the password reached a log line');
    assert.equal(lines.filter((l) => /authori[sz]ation failed/.test(l) && l.includes('"level":50')).length, 1, text);

    // The control: the right password connects, so the refusal above was the credentials'.
    const good = capture();
    const ok = new MqttLink({ url: authBroker.url, username: 'vigil', password, availability: { topic: 'vigil/auth/status', qos: 1 }, log: good.log });
    await until('connected with the right password', () => ok.connected);
    await ok.close();
    assert.ok(!good.lines.join('').includes(password));
  } finally {
    await authBroker.dispose();
  }
});

test('close publishes offline retained, resolves, and is idempotent', async () => {
  const id = uid();
  const availability = { topic: `vigil/${id}/status`, qos: 1 as const };
  const states: boolean[] = [];
  const link = open({ availability, onState: (c) => states.push(c) });
  await until('connected', () => link.connected);
  assert.equal(await retained(broker.url, availability.topic), 'online');
  await link.close();
  assert.equal(await retained(broker.url, availability.topic), 'offline');
  await link.close();
  assert.equal(link.connected, false);
  assert.deepEqual(states, [true, false]);
  assert.equal(await link.publish(`vigil/${id}/x`, 'late'), false);
  await assert.rejects(link.publishNow(`vigil/${id}/x`, 'late'), /not connected/);
});
