import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryState, RedisState, type SharedState } from '@vigil/state';
import { uid } from '../helpers/env.ts';

const impls: [string, () => SharedState][] = [
  ['memory', () => new MemoryState()],
  ['Redis', () => new RedisState(process.env.VIGIL_TEST_REDIS ?? 'redis://127.0.0.1:6379', `vigil-test:${uid()}:`)],
];

for (const [name, make] of impls) {
  describe(`SharedState conformance: ${name}`, () => {
    const s = make();
    after(() => s.close());

    test('setIfAbsent: only the first caller wins until the key expires', async () => {
      assert.equal(await s.setIfAbsent('episode', 'replica-a', 150), true);
      assert.equal(await s.setIfAbsent('episode', 'replica-b', 150), false);
      assert.equal(await s.get('episode'), 'replica-a');
      await new Promise((r) => setTimeout(r, 250));
      assert.equal(await s.get('episode'), undefined);
      assert.equal(await s.setIfAbsent('episode', 'replica-b', 150), true);
    });

    test('concurrent setIfAbsent has exactly one winner', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => s.setIfAbsent('race', String(i), 5000)));
      assert.equal(results.filter(Boolean).length, 1);
    });

    test('set, get, delete, and set without expiry', async () => {
      await s.set('k', 'v1');
      assert.equal(await s.get('k'), 'v1');
      await s.set('k', 'v2', 10_000);
      assert.equal(await s.get('k'), 'v2');
      await s.delete('k');
      assert.equal(await s.get('k'), undefined);
      assert.equal(await s.ping(), true);
    });
  });
}
