import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryControl, NatsControl, NoResponderError, RemoteError, type Control } from '@vigil/control';
import { uid, waitFor } from '../helpers/env.ts';

// One suite, every implementation: the services rely on exactly these semantics.
const impls: [string, () => Promise<Control>][] = [
  ['in-process', async () => new MemoryControl()],
  ['NATS', () => NatsControl.connect(process.env.VIGIL_TEST_NATS ?? 'nats://127.0.0.1:4222')],
];

for (const [name, make] of impls) {
  describe(`Control conformance: ${name}`, () => {
    const opened: Control[] = [];
    const open = async () => {
      const c = await make();
      opened.push(c);
      return c;
    };
    after(async () => {
      for (const c of opened) await c.close();
    });

    test('publish reaches every subscriber of the subject, as a copy', async () => {
      const c = await open();
      const subject = `t.${uid()}`;
      const got: unknown[] = [];
      const off1 = c.subscribe(subject, (d) => got.push(['a', d]));
      c.subscribe(subject, (d) => got.push(['b', d]));
      c.subscribe(`${subject}.other`, (d) => got.push(['x', d]));
      const payload = { camera: 'dock-1', n: 1 };
      await c.publish(subject, payload);
      payload.n = 2;
      await waitFor('two deliveries', () => got.length >= 2, 5000, 10);
      assert.deepEqual(got.sort(), [['a', { camera: 'dock-1', n: 1 }], ['b', { camera: 'dock-1', n: 1 }]]);
      off1();
      await c.publish(subject, 'again');
      await waitFor('one more', () => got.length >= 3, 5000, 10);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(got.length, 3);
    });

    test('request gets the responder answer; errors and missing responders are distinct', async () => {
      const c = await open();
      const subject = `ask.${uid()}`;
      const off = c.respond(subject, async (d) => {
        const q = d as { x: number };
        if (q.x < 0) throw new Error('x must be positive');
        return { double: q.x * 2 };
      });
      assert.deepEqual(await c.request(subject, { x: 21 }, 2000), { double: 42 });
      await assert.rejects(c.request(subject, { x: -1 }, 2000), (e: Error) => e instanceof RemoteError && /x must be positive/.test(e.message));
      off();
      await assert.rejects(c.request(subject, { x: 1 }, 1000), NoResponderError);
    });

    test('a slow responder times out', async () => {
      const c = await open();
      const subject = `slow.${uid()}`;
      c.respond(subject, () => new Promise((r) => setTimeout(() => r('late'), 500)));
      await assert.rejects(c.request(subject, {}, 100), /timed out/);
    });
  });
}
