import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { applyKafkajsIdleFix } from '../../libs/bus/src/kafkajs-idle-fix.ts';

test('kafkajs request queue: no idle timer re-arm, but pending requests are still checked', () => {
  assert.equal(applyKafkajsIdleFix(), true);
  assert.equal(applyKafkajsIdleFix(), true, 'idempotent');
  const Queue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as { prototype: Record<string, (...a: unknown[]) => void> };
  const idle = { pending: [] as unknown[], throttledUntil: -1, throttleCheckTimeoutId: null as unknown };
  Queue.prototype.scheduleCheckPendingRequests!.call(idle);
  assert.equal(idle.throttleCheckTimeoutId, null, 'nothing pending: no timer');
  const busy = { pending: [{}], throttledUntil: -1, throttleCheckTimeoutId: null as unknown, checkPendingRequests() {} };
  Queue.prototype.scheduleCheckPendingRequests!.call(busy);
  assert.notEqual(busy.throttleCheckTimeoutId, null, 'a pending request arms the check');
  clearTimeout(busy.throttleCheckTimeoutId as NodeJS.Timeout);
});
