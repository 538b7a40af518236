import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { KafkaBus, MemoryBus, type Bus, type InMessage } from '@vigil/bus';
import { createLogger } from '@vigil/observability';
import { KAFKA, uid, waitFor } from '../helpers/env.ts';

const logger = createLogger('bus-test', { level: 'error' });
const impls: [string, () => Bus][] = [
  ['in-process', () => new MemoryBus({ maxPartitionBytes: 1024 * 1024 })],
  ['Kafka', () => new KafkaBus({ brokers: [KAFKA], clientId: `test-${uid()}`, logger })],
];

for (const [name, make] of impls) {
  describe(`Bus conformance: ${name}`, () => {
    const bus = make();
    after(() => bus.close());
    const topic = () => `test.${uid()}`;

    test('replicas starting together create the same topics at once without failing', async () => {
      const others = [make(), make(), make()];
      try {
        const specs = [{ topic: topic(), partitions: 3 }, { topic: topic(), partitions: 2 }];
        await Promise.all([bus, ...others].map((b) => b.ensureTopics(specs)));
        for (const spec of specs) {
          await others[0]!.publish(spec.topic, [{ key: 'k', value: Buffer.from('x') }]);
        }
      } finally {
        await Promise.all(others.map((b) => b.close()));
      }
    });

    test('a bus that has only subscribed (published nothing) is healthy', async () => {
      // Alerts alone on Kafka only consumes: its /healthz must not wait for a first publish.
      const reader = make();
      try {
        const t = topic();
        await bus.ensureTopics([{ topic: t, partitions: 1 }]);
        const sub = await reader.subscribe({ topic: t, group: `g-${uid()}`, handle: async () => undefined });
        await waitFor('healthy without a publish', () => reader.healthy(), 20_000);
        await sub.close();
      } finally {
        await reader.close();
      }
    });

    test('keeps order per key and delivers to a group from the beginning', async () => {
      const t = topic();
      await bus.ensureTopics([{ topic: t, partitions: 3 }]);
      const msgs = ['a', 'b', 'c'].flatMap((k) => Array.from({ length: 10 }, (_, i) => ({ key: k, value: Buffer.from(`${k}${i}`), timestamp: 1000 + i })));
      await bus.publish(t, msgs);
      const got: InMessage[] = [];
      const sub = await bus.subscribe({ topic: t, group: `g-${uid()}`, fromBeginning: true, handle: async (m) => void got.push(m) });
      await waitFor('30 messages', () => got.length >= 30, 20_000);
      await sub.close();
      for (const k of ['a', 'b', 'c']) {
        assert.deepEqual(got.filter((m) => m.key === k).map((m) => m.value.toString()), Array.from({ length: 10 }, (_, i) => `${k}${i}`));
      }
      assert.equal(got[0]!.timestamp >= 1000, true);
    });

    test('a handler that throws gets the same message again; offsets resume after close', async () => {
      const t = topic();
      await bus.ensureTopics([{ topic: t, partitions: 1 }]);
      const group = `g-${uid()}`;
      await bus.publish(t, [1, 2, 3].map((n) => ({ key: 'k', value: Buffer.from(String(n)) })));
      const seen: string[] = [];
      let failed = false;
      const sub = await bus.subscribe({
        topic: t,
        group,
        fromBeginning: true,
        handle: async (m) => {
          const v = m.value.toString();
          if (v === '2' && !failed) {
            failed = true;
            throw new Error('transient');
          }
          seen.push(v);
        },
      });
      await waitFor('three handled', () => seen.length >= 3, 30_000);
      await sub.close();
      assert.deepEqual(seen, ['1', '2', '3']);
      // Same group again: only what was published since is delivered.
      await bus.publish(t, [{ key: 'k', value: Buffer.from('4') }]);
      const later: string[] = [];
      const sub2 = await bus.subscribe({ topic: t, group, fromBeginning: true, handle: async (m) => void later.push(m.value.toString()) });
      await waitFor('the new message', () => later.length >= 1, 30_000);
      await new Promise((r) => setTimeout(r, 300));
      await sub2.close();
      assert.deepEqual(later, ['4']);
    });

    test('manual commits: consumption runs ahead; a new member resumes at the last commit; startEnds marks what came before', async () => {
      const t = topic();
      await bus.ensureTopics([{ topic: t, partitions: 1 }]);
      const group = `g-${uid()}`;
      await bus.publish(t, [0, 1].map((n) => ({ key: 'k', value: Buffer.from(String(n)) })));
      const seen: InMessage[] = [];
      const sub = await bus.subscribe({ topic: t, group, fromBeginning: true, commit: 'manual', handle: async (m) => void seen.push(m) });
      assert.equal(sub.startEnds.get(0), '2', 'two messages existed at the start');
      await bus.publish(t, [2, 3, 4].map((n) => ({ key: 'k', value: Buffer.from(String(n)) })));
      await waitFor('all five handled without any commit', () => seen.length >= 5, 30_000);
      assert.deepEqual(sub.assigned(), [0]);
      await sub.commit(0, seen[3]!.offset); // done with 0, 1 and 2; 3 and 4 are not
      await sub.pause();
      await bus.publish(t, [{ key: 'k', value: Buffer.from('5') }]);
      await new Promise((r) => setTimeout(r, name === 'Kafka' ? 1000 : 50));
      assert.equal(seen.length, 5, 'paused: nothing more is fetched');
      await sub.close();
      const again: string[] = [];
      const sub2 = await bus.subscribe({ topic: t, group, fromBeginning: true, commit: 'manual', handle: async (m) => void again.push(m.value.toString()) });
      assert.equal(sub2.startEnds.get(0), '6');
      await waitFor('the uncommitted ones again', () => again.length >= 3, 30_000);
      await new Promise((r) => setTimeout(r, 300));
      await sub2.close();
      assert.deepEqual(again, ['3', '4', '5']);
    });

    test('a new group without fromBeginning sees only new messages', async () => {
      const t = topic();
      await bus.ensureTopics([{ topic: t, partitions: 1 }]);
      await bus.publish(t, [{ key: 'k', value: Buffer.from('old') }]);
      const got: string[] = [];
      const sub = await bus.subscribe({ topic: t, group: `g-${uid()}`, handle: async (m) => void got.push(m.value.toString()) });
      await new Promise((r) => setTimeout(r, name === 'Kafka' ? 1500 : 50));
      await bus.publish(t, [{ key: 'k', value: Buffer.from('new') }]);
      await waitFor('new message', () => got.length >= 1, 20_000);
      await sub.close();
      assert.deepEqual(got, ['new']);
    });
  });
}

test('in-process bus: memory stays bounded, oldest dropped first', async () => {
  const bus = new MemoryBus({ maxPartitionBytes: 10_000 });
  await bus.ensureTopics([{ topic: 't', partitions: 1 }]);
  for (let i = 0; i < 100; i++) await bus.publish('t', [{ key: 'k', value: Buffer.alloc(1000, i) }]);
  const got: number[] = [];
  const sub = await bus.subscribe({ topic: 't', group: 'g', fromBeginning: true, handle: async (m) => void got.push(m.value[0]!) });
  await waitFor('retained messages', () => got.length >= 10, 2000);
  await sub.close();
  await bus.close();
  assert.equal(got.length, 10);
  assert.deepEqual(got, [90, 91, 92, 93, 94, 95, 96, 97, 98, 99]);
});
