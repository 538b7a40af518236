import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockDataDir, DataDirLockedError } from '@vigil/platform';

test('a data folder has one owner; a stale lock is taken over; release frees it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-lock-'));
  // A live process holds the lock.
  const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
  writeFileSync(join(dir, 'vigil.lock'), `${holder.pid}\n`);
  assert.throws(() => lockDataDir(dir), (e: Error) => e instanceof DataDirLockedError && e.message.includes(`pid ${holder.pid}`) && e.message.includes(dir));
  holder.kill('SIGKILL');
  await new Promise((r) => holder.once('exit', r));
  // Its process is gone: the lock is stale and taken over.
  const release = lockDataDir(dir);
  assert.throws(() => lockDataDir(dir), DataDirLockedError, 'held by this process now');
  release();
  assert.equal(existsSync(join(dir, 'vigil.lock')), false);
  lockDataDir(dir)();
});
