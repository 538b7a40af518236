import { REFERENCE_WINDOW } from '@vigil/model';
import type { Plan, PlanInputs, PlanLoad } from './plan.ts';

/** A plan with what it was computed from, as `vigil plan` reports it. */
export interface PlanReport {
  file: string;
  plan: Plan;
  inputs: PlanInputs;
  budgetGpus?: number;
}

/** Whole GPUs for a fractional need (a hair over a whole number from float sums is not one more GPU). */
export function wholeGpus(gpus: number): number {
  return Math.ceil(gpus - 1e-9);
}

/** Whether the GPUs needed with sharing fit the budget (true without one). */
export function withinBudget(r: PlanReport): boolean {
  return r.budgetGpus === undefined || r.plan.total.gpus.shared <= r.budgetGpus + 1e-9;
}

/** Float sums without their noise: 3 decimals, or 4 significant digits below 1 (a rate per token). */
const tidy = (v: number) => (Math.abs(v) >= 1 || v === 0 ? Number(v.toFixed(3)) : Number(v.toPrecision(4)));

/** The report as one JSON object. */
export function planJson(r: PlanReport): string {
  const { rates, triggerRate, decodeTokens } = r.inputs;
  const total = r.plan.total;
  const out = {
    config: r.file,
    gpu: rates.gpu,
    gpuLabel: rates.label,
    assumptions: {
      triggerRate,
      decodeTokens,
      windowPrefillS: rates.windowPrefillS,
      cachedQuestionS: rates.cachedQuestionS,
      decodeSPerToken: rates.decodeSPerToken,
      referenceWindow: REFERENCE_WINDOW,
      sources: rates.sources,
    },
    cameras: r.plan.cameras,
    total,
    gpusNeeded: { separate: wholeGpus(total.gpus.separate), shared: wholeGpus(total.gpus.shared) },
    budgetGpus: r.budgetGpus ?? null,
    withinBudget: r.budgetGpus === undefined ? null : withinBudget(r),
  };
  return `${JSON.stringify(out, (_k, v: unknown) => (typeof v === 'number' ? tidy(v) : v), 2)}\n`;
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const pair = (a: string, b: string) => `${a} → ${b}`;

/** The readable report: one row per camera and the total, then what the figures assume. */
export function planText(r: PlanReport): string {
  const { plan, inputs } = r;
  const { rates } = inputs;
  const row = (name: string, l: PlanLoad) => [
    name,
    int(l.windowsPerHour),
    int(l.videoTokensPerHour),
    pair(int(l.prefillsPerHour.separate), int(l.prefillsPerHour.shared)),
    pair(int(l.gpuSecondsPerHour.separate), int(l.gpuSecondsPerHour.shared)),
    pair(l.gpus.separate.toFixed(2), l.gpus.shared.toFixed(2)),
  ];
  const table = columns([
    ['camera', 'questions/h', 'video tokens/h', 'prefills/h', 'GPU-s/h', 'GPUs'],
    ...plan.cameras.map((c) => row(c.camera, c)),
    row('total', plan.total),
  ]);
  const t = plan.total;
  const budget = r.budgetGpus === undefined ? '' : `; budget ${r.budgetGpus}: ${withinBudget(r) ? 'within' : 'OVER'}`;
  const shared = plan.cameras.flatMap((c) => c.groups.filter((g) => g.queries.length > 1).map((g) => `${c.camera}: ${g.queries.join(', ')}`));
  const ref = REFERENCE_WINDOW;
  const s = (x: number, digits: number) => `${+x.toFixed(digits)} s`;
  const ms = (x: number) => `${+(x * 1000).toFixed(2)} ms`;
  return [
    `vigil plan: ${r.file} on ${rates.label}`,
    '',
    ...table,
    '',
    'a → b      each question prefills its own video → one prefill per window, shared by its questions',
    `sharing    ${shared.length ? shared.join('; ') : 'no camera has two questions on the same window, every, fps and profile'}`,
    `prefill    ${s(rates.windowPrefillS, 3)} per ${ref.seconds} s window at ${ref.fps} fps (${int(ref.videoTokens)} video tokens), linear in video tokens: ${rates.sources.prefill}`,
    `cached     ${ms(rates.cachedQuestionS)} per question on a cached video prefix: ${rates.sources.cachedQuestion}`,
    `decode     ${inputs.decodeTokens} tokens per answer × ${ms(rates.decodeSPerToken)}: ${rates.sources.decode}`,
    `triggers   motion, stall, scene-change, tamper, object fire on ${+(inputs.triggerRate * 100).toFixed(2)}% of windows; always every window; a schedule the share of the week it covers`,
    `frames     16:9 assumed (${plan.cameras.map((c) => `${c.frame.width}×${c.frame.height}`).filter((v, i, a) => a.indexOf(v) === i).join(', ')})`,
    `needs      ${wholeGpus(t.gpus.shared)} × ${rates.label} with sharing (${t.gpus.shared.toFixed(2)} busy), ${wholeGpus(t.gpus.separate)} without (${t.gpus.separate.toFixed(2)})${budget}`,
    '',
  ].join('\n');
}

/** Left-aligned first column, right-aligned numbers, two spaces between. */
function columns(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...r[i]!].length)));
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd());
}
