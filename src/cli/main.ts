import { parseArgs } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { ConfigError, configJsonSchema, configSecrets, loadConfig, sharingNotes, type VigilConfig } from '@vigil/config';
import { createLogger, installProcessPolicy, redactUrl, scrubber, type Scrub } from '@vigil/observability';
import { RELOAD_SUBJECT } from '@vigil/contracts';
import { NatsControl } from '@vigil/control';
import { ConfigReloads, lockHolder, openPlatform, type Reloadable } from '@vigil/platform';
import { checkShard, parseShard, startIngest, type Shard } from '@vigil/ingest';
import { startInfer } from '@vigil/infer';
import { startAlerts } from '@vigil/alerts';
import { costRates } from '@vigil/model';
import { UsageError } from './usage-error.ts';
import { parsePlanFlags } from './plan-flags.ts';
import { planCost } from './plan.ts';
import { planJson, planText, withinBudget } from './plan-report.ts';
import { testCommand } from './test/command.ts';

const USAGE = `Usage:
  vigil validate <config.yaml>                 check a config; exit 0 if valid, 2 with the errors otherwise
  vigil run --config <file> [--service a,b]    run services in this process (ingest, infer, alerts; default all)
            [--shard i/n]                      ingest only shard i of n of the cameras (or env VIGIL_SHARD_INDEX
                                               and VIGIL_SHARD_COUNT, e.g. a StatefulSet's pod index)
  vigil reload --config <file>                 validate a config, then make the running services apply it
                                               (NATS configured: published on vigil.control.reload;
                                               standalone: SIGHUP to the process on its data_dir)
  vigil test <suite.yaml> [--model URL]        replay labelled clips through the pipeline and score each query's
            [--json] [--junit FILE]            incidents; exit 0 if every threshold holds, 1 if one does not,
            [--compare candidates.yaml]        2 for a bad suite, config or clip. --compare: new versions of
                                               queries run on the same windows; where they disagree
  vigil schema [--out file]                    print the config's JSON Schema (for editor completion)
  vigil plan --config <file> [--gpu h100|h200] what the config's questions cost: windows, video tokens, prefills
            [--trigger-rate 0.1]               and GPUs per hour, per camera, without and with a shared video
            [--budget-gpus N] [--json]         prefill; exit 1 if more than N GPUs are needed with sharing.
            [--windows-per-second X]           --trigger-rate: share of windows an event trigger fires on;
            [--decode-tokens 300]              --windows-per-second, --decode-ms-per-token: your server's own
            [--decode-ms-per-token X]          figures instead of the measured table (see README)
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
      case 'reload':
        return await reload(rest);
      case 'plan':
        return plan(rest);
      case 'test':
        return await testCommand(rest);
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

function validate(args: string[]): number {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length !== 1) throw new UsageError('validate takes exactly one config file');
  const config = loadConfig(positionals[0]!);
  process.stdout.write(`${positionals[0]}: valid (${config.cameras.length} cameras, ${config.queries.length} queries)\n`);
  // Which zone each question is about (drawn or only named), and what it takes to open an incident.
  for (const q of config.queries) {
    const parts = [
      q.shadow !== undefined ? `shadows ${q.shadow} (recorded and compared, never alerts)` : '',
      q.zone !== undefined ? `zone ${q.zone} (${q.zoneView})` : '',
      q.confirm ? `opens on ${q.confirm.need} of the last ${q.confirm.of} windows` : '',
      q.clearAfter ? `closes after ${q.clearAfter} negative windows in a row` : '',
    ].filter(Boolean);
    if (parts.length > 0) process.stdout.write(`  query ${q.id}: ${parts.join('; ')}\n`);
  }
  // zone_view: crop — what ingest cuts from the full-resolution picture (such a camera decodes continuously).
  for (const cam of config.cameras) {
    if (!cam.crops) continue;
    const pct = (v: number) => `${Math.round(v * 100)}%`;
    const boxes = cam.crops.map((c) => `${c.zone} (x ${pct(c.box.x)}, y ${pct(c.box.y)}, ${pct(c.box.w)} × ${pct(c.box.h)} of the picture)`);
    process.stdout.write(`  camera ${cam.id}: crops ${boxes.join(', ')}; decoded continuously\n`);
  }
  // decode: on_demand — what the trigger stage reads while a camera is quiet (the URL never: it may hold a password).
  for (const cam of config.cameras) {
    if (cam.decode !== 'on_demand') continue;
    const trigger = cam.detectUrl ? `its detect stream at ${cam.detectFps} fps (the main stream's keyframes while it is down)` : cam.keyframeEvery > 1 ? `one keyframe in ${cam.keyframeEvery} of its stream` : 'every keyframe of its stream';
    process.stdout.write(`  camera ${cam.id}: decoded on demand; the trigger reads ${trigger}\n`);
  }
  // Not errors: what keeps questions from sharing one video prefill (see README, "Sharing").
  for (const note of sharingNotes(config)) process.stdout.write(`note: ${note}\n`);
  return 0;
}

/** `vigil plan`: the config's cost per hour (see README, "Cost model and `vigil plan`"); exit 1 over --budget-gpus. */
function plan(args: string[]): number {
  const flags = parsePlanFlags(args);
  const config = loadConfig(flags.config);
  const inputs = { rates: costRates(flags.gpu, flags), triggerRate: flags.triggerRate, decodeTokens: flags.decodeTokens };
  const report = { file: flags.config, plan: planCost(config, inputs), inputs, budgetGpus: flags.budgetGpus };
  process.stdout.write(flags.json ? planJson(report) : planText(report));
  return withinBudget(report) ? 0 : 1;
}

function schema(args: string[]): number {
  const { values } = parseArgs({ args, options: { out: { type: 'string' } } });
  const text = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
  if (values.out) writeFileSync(values.out, text);
  else process.stdout.write(text);
  return 0;
}

/**
 * `vigil reload`: validates first (exit 2 with every error, as `validate`), then delivers. With
 * NATS in the config the YAML text goes out on `vigil.control.reload` and every service of the
 * deployment applies it (filling ${ENV} from its own environment); without, the standalone
 * process holding the config's data_dir is sent SIGHUP and re-reads the file it started from.
 */
async function reload(args: string[]): Promise<number> {
  let values: { config?: string };
  try {
    ({ values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } } }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (!values.config) throw new UsageError('reload needs --config <file>');
  const config = loadConfig(values.config);
  if (config.nats) {
    const control = await NatsControl.connect(config.nats.url).catch((e: unknown) => {
      throw new UsageError(`cannot connect to NATS at ${redactUrl(config.nats!.url)}: ${(e as Error).message}`);
    });
    try {
      await control.publish(RELOAD_SUBJECT, { v: 1, config: readFileSync(values.config, 'utf8'), requestedBy: `${userInfo().username}@${hostname()}` });
    } finally {
      await control.close();
    }
    process.stdout.write(`${values.config}: valid; published on ${RELOAD_SUBJECT} (${redactUrl(config.nats.url)})\n`);
    return 0;
  }
  const pid = lockHolder(config.dataDir);
  if (pid === undefined) {
    process.stderr.write(`vigil: no running Vigil holds ${config.dataDir} (standalone reloads signal that process; with NATS they are published)\n`);
    return 1;
  }
  process.kill(pid, 'SIGHUP');
  process.stdout.write(`${values.config}: valid; Vigil (pid ${pid}) asked to re-read the config file it started from\n`);
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
  // Every log line of this process is scrubbed of the config's secrets (those of a reloaded one too).
  let secrets = scrubber(configSecrets(config));
  const scrub: Scrub = (text) => secrets(text);
  const logger = (name: string) => createLogger(name, { scrub });
  const log = logger('vigil');
  let platform: Awaited<ReturnType<typeof openPlatform>> | undefined;
  const started: (Reloadable & { close(): Promise<void> })[] = [];
  let reloads: ConfigReloads | undefined;
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      await reloads?.close();
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
    // Downstream first, so the first findings and frames have somewhere to go. Ingest hears infer
    // ask for on_demand cameras' pictures over NATS, or in-process when infer runs here too;
    // otherwise nobody can ask, and it decodes them continuously.
    if (services.includes('alerts')) started.push({ name: 'alerts', ...(await startAlerts(config, { bus, store: await platform.store(), state: platform.state, control: platform.control, logger: logger('alerts'), scrub })) });
    if (services.includes('infer')) started.push({ name: 'infer', ...(await startInfer(config, { bus, control: platform.control, logger: logger('infer') })) });
    if (services.includes('ingest')) started.push({ name: 'ingest', ...(await startIngest(config, { bus, shard, control: platform.kinds.control === 'nats' || services.includes('infer') ? platform.control : undefined, logger: logger('ingest') })) });
  } catch (e) {
    log.error({ err: scrub((e as Error).message) }, 'cannot start');
    await stopAll();
    return 1;
  }
  // Config changes reach every service of this process: the file, SIGHUP, or `vigil reload`.
  reloads = new ConfigReloads(config, () => started, { file: values.config, control: platform.control, log }, (next) => (secrets = scrubber(configSecrets(next)))).start();
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
