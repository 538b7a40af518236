import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { VigilConfig } from '@vigil/config';
import { KafkaBus, MemoryBus, type Bus } from '@vigil/bus';
import { MemoryControl, NatsControl, type Control } from '@vigil/control';
import { MemoryState, RedisState, type SharedState } from '@vigil/state';
import { PgDatabase, PgliteDatabase, SqlIncidentStore, type IncidentStore } from '@vigil/store';
import { redactUrl, type Logger } from '@vigil/observability';
import { lockDataDir } from './lock.ts';

export { lockDataDir, lockHolder, DataDirLockedError } from './lock.ts';
export { ConfigReloads, type Reloadable, type ReloadSources } from './reloads.ts';
export { SERVICE_NODE_FLAGS } from './node-flags.ts';

/** The outside systems a process's services share, real or embedded per the config. */
export interface Platform {
  bus: Bus;
  control: Control;
  state: SharedState;
  /** Opened on first call (only alerts needs it), then shared. */
  store(): Promise<IncidentStore>;
  /** What each adapter is, for the startup log and /healthz. */
  kinds: { bus: 'kafka' | 'in-process'; store: 'postgres' | 'pglite'; state: 'redis' | 'memory'; control: 'nats' | 'in-process' };
  close(): Promise<void>;
}

/**
 * Builds every adapter once per process. A config section that is absent selects the
 * embedded stand-in, so any of them can be switched to the real one independently.
 */
export async function openPlatform(config: VigilConfig, log: Logger): Promise<Platform> {
  // Embedded parts keep state in data_dir: one process per folder.
  const embedded = !config.postgres;
  const unlock = embedded ? lockDataDir(config.dataDir) : () => undefined;
  const bus: Bus = config.kafka
    ? new KafkaBus({ brokers: config.kafka.brokers, clientId: config.kafka.clientId, logger: log })
    : new MemoryBus({
        onHandlerError: (e, where) => log.warn({ ...where, err: e instanceof Error ? e.message : String(e) }, 'message handler failed; redelivering after a pause'),
      });
  let control: Control;
  try {
    control = config.nats ? await NatsControl.connect(config.nats.url) : new MemoryControl();
  } catch (e) {
    unlock();
    await bus.close().catch(() => undefined);
    throw new Error(`cannot connect to NATS at ${redactUrl(config.nats?.url ?? '')}: ${(e as Error).message}`);
  }
  const state: SharedState = config.redis ? new RedisState(config.redis.url, config.redis.prefix) : new MemoryState();
  let store: Promise<IncidentStore> | undefined;
  const openStore = async (): Promise<IncidentStore> => {
    if (config.postgres) return SqlIncidentStore.open(await PgDatabase.open(config.postgres.url));
    const dir = join(config.dataDir, 'db');
    mkdirSync(dir, { recursive: true });
    return SqlIncidentStore.open(await PgliteDatabase.open(dir));
  };
  return {
    bus,
    control,
    state,
    store: () => (store ??= openStore()),
    kinds: {
      bus: config.kafka ? 'kafka' : 'in-process',
      store: config.postgres ? 'postgres' : 'pglite',
      state: config.redis ? 'redis' : 'memory',
      control: config.nats ? 'nats' : 'in-process',
    },
    close: async () => {
      // Every step runs even when one fails; the first failure is rethrown.
      const results = await Promise.allSettled([bus.close(), control.close(), state.close(), store ? store.then((s) => s.close()) : Promise.resolve()]);
      unlock();
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}
