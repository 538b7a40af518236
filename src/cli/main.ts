import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { ConfigError, configJsonSchema, configSecrets, loadConfig, type VigilConfig } from '@vigil/config';
import { createLogger, installProcessPolicy, scrubber } from '@vigil/observability';
import { openPlatform } from '@vigil/platform';
import { checkShard, parseShard, startIngest, type Shard } from '@vigil/ingest';
import { startInfer } from '@vigil/infer';
import { startAlerts } from '@vigil/alerts';

const USAGE = `Usage:
  vigil validate <config.yaml>                 check a config; exit 0 if valid, 2 with the errors otherwise
  vigil run --config <file> [--service a,b]    run services in this process (ingest, infer, alerts; default all)
            [--shard i/n]                      ingest only shard i of n of the cameras (or env VIGIL_SHARD_INDEX
                                               and VIGIL_SHARD_COUNT, e.g. a StatefulSet's pod index)
  vigil schema [--out file]                    print the config's JSON Schema (for editor completion)
`;

const SERVICES = ['ingest', 'infer', 'alerts'] as const;
type ServiceName = (typeof SERVICES)[number];

/** The `vigil` command. Returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'validate':
        return validate(rest);
      case 'run':
        return await run(rest);
      case 'schema':
        return schema(rest);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(USAGE);
        return command ? 0 : 2;
      default:
        process.stderr.write(`vigil: unknown command "${command}"\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`vigil: ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}

class UsageError extends Error {}

function validate(args: string[]): number {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length !== 1) throw new UsageError('validate takes exactly one config file');
  const config = loadConfig(positionals[0]!);
  process.stdout.write(`${positionals[0]}: valid (${config.cameras.length} cameras, ${config.queries.length} queries)\n`);
  return 0;
}

function schema(args: string[]): number {
  const { values } = parseArgs({ args, options: { out: { type: 'string' } } });
  const text = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
  if (values.out) writeFileSync(values.out, text);
  else process.stdout.write(text);
  return 0;
}

function parseServices(list: string | undefined): ServiceName[] {
  if (!list) return [...SERVICES];
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!(SERVICES as readonly string[]).includes(n)) throw new UsageError(`--service: unknown service "${n}" (expected ${SERVICES.join(', ')})`);
  }
  return names as ServiceName[];
}

async function run(args: string[]): Promise<number> {
  let values: { config?: string; service?: string; shard?: string };
  try {
    ({ values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, service: { type: 'string', short: 's' }, shard: { type: 'string' } } }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (!values.config) throw new UsageError('run needs --config <file>');
  const config: VigilConfig = loadConfig(values.config);
  const services = parseServices(values.service);
  const shard = ingestShard(values.shard, process.env);
  // Every log line of this process is scrubbed of the config's secrets.
  const scrub = scrubber(configSecrets(config));
  const logger = (name: string) => createLogger(name, { scrub });
  const log = logger('vigil');
  let platform: Awaited<ReturnType<typeof openPlatform>> | undefined;
  const started: { name: string; close(): Promise<void> }[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      // Upstream first, so nothing new enters a service that is stopping; adapters last.
      for (const s of started.reverse()) {
        await s.close().catch((e: unknown) => log.error({ service: s.name, err: String(e) }, 'error while stopping'));
      }
      await platform?.close().catch((e: unknown) => log.error({ err: String(e) }, 'error while closing adapters'));
    })());
  installProcessPolicy({ log, stop: stopAll });
  try {
    platform = await openPlatform(config, log);
  } catch (e) {
    process.stderr.write(`vigil: ${scrub((e as Error).message)}\n`);
    return 1;
  }
  log.info({ services, adapters: platform.kinds }, 'starting');
  try {
    const { bus } = platform;
    // Downstream first, so the first findings and frames have somewhere to go.
    if (services.includes('alerts')) started.push({ name: 'alerts', ...(await startAlerts(config, { bus, store: await platform.store(), state: platform.state, control: platform.control, logger: logger('alerts'), scrub })) });
    if (services.includes('infer')) started.push({ name: 'infer', ...(await startInfer(config, { bus, control: platform.control, logger: logger('infer') })) });
    if (services.includes('ingest')) started.push({ name: 'ingest', ...(await startIngest(config, { bus, control: platform.control, configFile: values.config, shard, logger: logger('ingest') })) });
  } catch (e) {
    log.error({ err: scrub((e as Error).message) }, 'cannot start');
    await stopAll();
    return 1;
  }
  log.info({ services }, 'vigil running; Ctrl-C to stop');
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  log.info({ signal }, 'stopping');
  const force = setTimeout(() => {
    log.error('services did not stop within 20 s; exiting');
    process.exit(1);
  }, 20_000);
  force.unref();
  await stopAll();
  return 0;
}

/**
 * Ingest's share of the cameras: `--shard i/n`, else VIGIL_SHARD_INDEX and VIGIL_SHARD_COUNT
 * (the index may be a StatefulSet pod name such as `ingest-2`: its trailing number counts).
 */
function ingestShard(flag: string | undefined, env: NodeJS.ProcessEnv): Shard | undefined {
  try {
    if (flag) return parseShard(flag);
    const index = env.VIGIL_SHARD_INDEX?.trim();
    const count = env.VIGIL_SHARD_COUNT?.trim();
    if (!index && !count) return undefined;
    if (!index || !count) throw new Error('set both VIGIL_SHARD_INDEX and VIGIL_SHARD_COUNT');
    const ordinal = /(\d+)$/.exec(index)?.[1];
    if (ordinal === undefined || !/^\d+$/.test(count)) throw new Error(`VIGIL_SHARD_INDEX="${index}" and VIGIL_SHARD_COUNT="${count}" must be numbers`);
    return checkShard(Number(ordinal), Number(count));
  } catch (e) {
    throw new UsageError(`--shard: ${(e as Error).message}`);
  }
}
