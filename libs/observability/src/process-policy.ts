import { Counter, type Registry } from 'prom-client';
import type { Logger } from './logger.ts';

/** Exit code after an uncaught exception (EX_SOFTWARE): the supervisor restarts the process. */
export const FATAL_EXIT_CODE = 70;

const faults = { rejection: 0, exception: 0 };

/**
 * Counts of the process's unhandled faults, added to a service's registry so each /metrics
 * shows them (`vigil_process_faults_total{kind}`; the process is shared by every service in it).
 */
export function registerProcessFaults(registry: Registry): void {
  new Counter({
    name: 'vigil_process_faults_total',
    help: 'Unhandled promise rejections (kept running) and uncaught exceptions (process exits) in this process',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ kind: 'unhandled_rejection' }, faults.rejection);
      this.inc({ kind: 'uncaught_exception' }, faults.exception);
    },
  });
}

/**
 * The process's policy for faults that escape every handler:
 * - an unhandled promise rejection is a bug in a path that finished badly, not corrupt state:
 *   logged with its stack, counted, and the process keeps serving;
 * - an uncaught exception left some operation half done, so state may be corrupt: logged,
 *   counted, then `stop` runs (bounded by `stopMs`) and the process exits with 70 for its
 *   supervisor (systemd, Kubernetes, compose) to restart it.
 * Returns a function that removes the policy.
 */
export function installProcessPolicy(opts: { log: Logger; stop: () => Promise<void>; stopMs?: number; exit?: (code: number) => void }): () => void {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let fatal = false;
  const describe = (e: unknown) => (e instanceof Error ? { err: e.message, stack: e.stack } : { err: String(e) });
  const onRejection = (reason: unknown) => {
    faults.rejection++;
    opts.log.error(describe(reason), 'unhandled promise rejection (the process keeps running)');
  };
  const onException = (e: unknown) => {
    faults.exception++;
    opts.log.fatal(describe(e), 'uncaught exception: stopping, to be restarted by the supervisor');
    if (fatal) return; // a second one while stopping: the deadline below still ends the process
    fatal = true;
    const deadline = setTimeout(() => exit(FATAL_EXIT_CODE), opts.stopMs ?? 5000);
    deadline.unref();
    void opts
      .stop()
      .catch((err: unknown) => opts.log.error(describe(err), 'error while stopping after an uncaught exception'))
      .finally(() => {
        clearTimeout(deadline);
        exit(FATAL_EXIT_CODE);
      });
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
