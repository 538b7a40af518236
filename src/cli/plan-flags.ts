import { parseArgs } from 'node:util';
import { GPU_NAMES, type GpuName } from '@vigil/model';
import { UsageError } from './usage-error.ts';

/** `vigil plan`'s command line, checked. */
export interface PlanFlags {
  config: string;
  gpu: GpuName;
  triggerRate: number;
  budgetGpus?: number;
  windowsPerSecond?: number;
  decodeTokens: number;
  decodeMsPerToken?: number;
  json: boolean;
}

/** Defaults: an H100; event triggers fire on a tenth of windows; ~300 output tokens, the middle of the 200–400 a reasoning answer takes (docs/deployment.md). */
export const PLAN_DEFAULTS = { gpu: 'h100', triggerRate: 0.1, decodeTokens: 300 } as const;

export function parsePlanFlags(args: string[]): PlanFlags {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        config: { type: 'string', short: 'c' },
        gpu: { type: 'string' },
        'trigger-rate': { type: 'string' },
        'budget-gpus': { type: 'string' },
        'windows-per-second': { type: 'string' },
        'decode-tokens': { type: 'string' },
        'decode-ms-per-token': { type: 'string' },
        json: { type: 'boolean' },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const str = (k: string) => values[k] as string | undefined;
  const config = str('config');
  if (!config) throw new UsageError('plan needs --config <file>');
  const gpu = str('gpu') ?? PLAN_DEFAULTS.gpu;
  if (!(GPU_NAMES as readonly string[]).includes(gpu)) throw new UsageError(`--gpu: expected one of ${GPU_NAMES.join(', ')} (got "${gpu}")`);
  const optional = (k: string, rule: NumberRule) => (str(k) === undefined ? undefined : numberFlag(k, str(k)!, rule));
  return {
    config,
    gpu: gpu as GpuName,
    triggerRate: optional('trigger-rate', { min: 0, max: 1, text: 'a number from 0 to 1' }) ?? PLAN_DEFAULTS.triggerRate,
    budgetGpus: optional('budget-gpus', { min: 1, max: 100_000, integer: true, text: 'a whole number of GPUs, at least 1' }),
    windowsPerSecond: optional('windows-per-second', { min: 0, above: true, max: 10_000, text: 'a number of windows per second above 0' }),
    decodeTokens: optional('decode-tokens', { min: 0, max: 32_768, integer: true, text: 'a whole number of tokens from 0 to 32768' }) ?? PLAN_DEFAULTS.decodeTokens,
    decodeMsPerToken: optional('decode-ms-per-token', { min: 0, max: 10_000, text: 'a number of milliseconds, 0 or more' }),
    json: values.json === true,
  };
}

interface NumberRule {
  min: number;
  max: number;
  /** The minimum itself is refused. */
  above?: boolean;
  integer?: boolean;
  /** What is expected, for the error. */
  text: string;
}

/** A plain decimal (no hex, exponent, sign or blanks) within the rule's range, or a usage error naming the flag. */
function numberFlag(name: string, raw: string, rule: NumberRule): number {
  const n = Number(raw);
  const ok =
    /^(\d+(\.\d*)?|\.\d+)$/.test(raw) &&
    n <= rule.max &&
    (rule.above ? n > rule.min : n >= rule.min) &&
    (!rule.integer || Number.isInteger(n));
  if (!ok) throw new UsageError(`--${name}: expected ${rule.text} (got ${JSON.stringify(raw.slice(0, 40))})`);
  return n;
}
