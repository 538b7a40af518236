import { test } from 'node:test';
import assert from 'node:assert/strict';
import { topicMatches, validFilter, validTopic, reconnectDelayMs, BACKOFF_MAX_MS, BACKOFF_MIN_MS } from '@vigil/mqtt';

test('topic filters: + one level, # the rest (parent included), $share/<group>/ ignored, $ topics kept from wildcards', () => {
  const yes: Array<[string, string]> = [
    ['a/b', 'a/b'],
    ['a/+/c', 'a/x/c'],
    ['a/#', 'a'],
    ['a/#', 'a/b/c'],
    ['#', 'a/b'],
    ['+/+', 'a/'],
    ['$share/g/t/+/ask', 't/7/ask'],
    ['$share/g/#', 'x/y'],
    ['$SYS/#', '$SYS/broker/load'],
  ];
  const no: Array<[string, string]> = [
    ['a/b', 'a/b/c'],
    ['a/+', 'a/b/c'],
    ['a/+/c', 'a/c'],
    ['$share/g/t/+/ask', '$share/g/t/7/ask'],
    ['$share/g/t/+/ask', 't/7/tell'],
    ['$share/g', 'g'],
    ['#', '$SYS/broker'],
    ['+/broker', '$SYS/broker'],
    ['a/#/b', 'a/x/b'],
    ['a/b', ''],
  ];
  for (const [f, t] of yes) assert.equal(topicMatches(f, t), true, `${f} should match ${t}`);
  for (const [f, t] of no) assert.equal(topicMatches(f, t), false, `${f} should not match ${t}`);
});

test('topic and filter validation', () => {
  for (const t of ['a', 'a/b', '/a', 'a//b']) assert.equal(validTopic(t), true, t);
  for (const t of ['', 'a/+', 'a/#', 'a\0b']) assert.equal(validTopic(t), false, JSON.stringify(t));
  for (const f of ['a', '#', '+', 'a/+/b', 'a/#', '$share/g/t/+/ask']) assert.equal(validFilter(f), true, f);
  for (const f of ['', 'a/#/b', 'a#', 'a/b+', '$share/g', '$share//t', '$share/g+/t', '$share/g/']) assert.equal(validFilter(f), false, f);
});

test('reconnect delays: from 1 s, doubling, jittered within the upper half, capped at 30 s', () => {
  assert.equal(reconnectDelayMs(0, () => 0), BACKOFF_MIN_MS);
  assert.equal(reconnectDelayMs(0, () => 1), 1_000);
  assert.equal(reconnectDelayMs(3, () => 1), 8_000);
  assert.equal(reconnectDelayMs(3, () => 0), 4_000);
  assert.equal(reconnectDelayMs(50, () => 1), BACKOFF_MAX_MS);
  assert.equal(reconnectDelayMs(50, () => 0), BACKOFF_MAX_MS / 2);
  for (let a = 0; a < 12; a++) {
    const d = reconnectDelayMs(a);
    assert.ok(d >= BACKOFF_MIN_MS && d <= BACKOFF_MAX_MS, `attempt ${a}: ${d}`);
  }
});
