import { profileByName, type ProfileName } from './profiles.ts';

/**
 * What a window of video costs the model: its prompt tokens per profile, and the GPU time
 * measured for Cosmos-Reason1-7B's shape. The token budget (infer) and `vigil plan` both
 * count tokens with `estimateTokens`, so the plan and the running budget agree.
 */

/** Pixels per side of one video token, and how many frames share one token grid. */
interface TokenGeometry {
  cellPx: number;
  framesPerGrid: number;
}

// Reason1 (Qwen2.5-VL): 14 px patches merged 2×2, two frames per temporal patch.
// Reason2 (Qwen3-VL): 16 px patches merged 2×2. openai-frames: each frame is its own image
// (no temporal merge) on a server whose patching is unknown: Reason1's cell is assumed.
const GEOMETRY: Record<ProfileName, TokenGeometry> = {
  'cosmos-reason1': { cellPx: 28, framesPerGrid: 2 },
  'cosmos-reason2': { cellPx: 32, framesPerGrid: 2 },
  'openai-frames': { cellPx: 28, framesPerGrid: 1 },
};

/** The timestamp band infer splices under each frame for profiles that read one (@vigil/media's BAND_HEIGHT; a test keeps them equal). */
export const BAND_PX = 28;

/** Python's round() (half to even): the Qwen processors round each side to the token grid with it. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const cells = (px: number, cell: number) => Math.max(1, roundHalfEven(px / cell));

/**
 * Prompt tokens of a video window: frames as ingest sends them (`width` × `height`, before any
 * band), per the model contract — (frames / 2) × (H / cell) × (W / cell), with the band added
 * for profiles that read one. The server's total pixel cap is not applied, so for long windows
 * this is an upper bound. Throws on an unknown profile.
 */
export function estimateTokens(frames: number, width: number, height: number, profile: string): number {
  const p = profileByName(profile as ProfileName);
  const g = GEOMETRY[p.name];
  const perGrid = cells(width, g.cellPx) * cells(height + (p.band ? BAND_PX : 0), g.cellPx);
  return Math.ceil(frames / g.framesPerGrid) * perGrid;
}

/** The window the GPU figures were measured on: 8 s at 4 fps of 640×368 frames plus the band. */
export const REFERENCE_WINDOW = { seconds: 8, fps: 4, frames: 32, width: 640, height: 368, videoTokens: 5152 } as const;

export type GpuName = 'h100' | 'h200';
export const GPU_NAMES: readonly GpuName[] = ['h100', 'h200'];

/** One GPU's measured figures for Cosmos-Reason1-7B's shape; absent = not measured there. */
export interface GpuMeasurement {
  label: string;
  /** Prefill of the reference window, batch 1: the range measured, in seconds. */
  windowPrefillS: readonly [number, number];
  /** Of which the vision encoder alone. */
  visionEncoderS?: number;
  /** Prefill of 16 frames (4 s), batch 1. */
  halfWindowPrefillS?: number;
  /** Reference windows per second with 4 and 8 batched (prefill is compute-bound: batching barely helps). */
  batchedWindowsPerS?: { batch4: number; batch8: number };
  /** A 40-token question on top of a cached system + video prefix. */
  cachedQuestionS?: number;
  /** One decode step (every sequence in the batch gets a token) at the largest batch measured. */
  decodeStep: { seconds: number; batch: number };
}

/**
 * Measured in the project's notes `shared/docs/cost-physics.md` ("Model prefill and decode
 * (GPU)"): Qwen2.5-VL-7B's architecture with random weights, PyTorch 2.11 + transformers 5.17,
 * bf16, SDPA, eager `generate` — an upper bound: vLLM and NIM are faster, so the notes say to
 * use the ratios, not the absolutes (hence `--windows-per-second` in `vigil plan`).
 * Decode: H100 17 ms a step at batch 1 and 8; H200 69–79 ms at batch 1–64 (16-frame cache).
 */
export const MEASURED: Record<GpuName, GpuMeasurement> = {
  h100: {
    label: 'H100 80GB',
    windowPrefillS: [0.66, 0.76],
    halfWindowPrefillS: 0.38,
    batchedWindowsPerS: { batch4: 1.27, batch8: 1.42 },
    decodeStep: { seconds: 0.017, batch: 8 },
  },
  h200: {
    label: 'H200',
    windowPrefillS: [0.56, 0.56],
    visionEncoderS: 0.4,
    cachedQuestionS: 0.021,
    decodeStep: { seconds: 0.079, batch: 64 },
  },
};

/** The per-unit costs a plan multiplies by, each with where it came from. */
export interface CostRates {
  gpu: GpuName;
  label: string;
  /** GPU seconds to prefill the reference window; other windows scale linearly with video tokens. */
  windowPrefillS: number;
  /** GPU seconds of one more question on a cached video prefix. */
  cachedQuestionS: number;
  /** GPU seconds per output token of one answer. */
  decodeSPerToken: number;
  sources: { prefill: string; cachedQuestion: string; decode: string };
}

export interface RateOverrides {
  /** The server's measured throughput in reference windows per second (one full prefill each). */
  windowsPerSecond?: number;
  /** The server's measured decode cost per output token, in milliseconds of GPU. */
  decodeMsPerToken?: number;
}

/**
 * The rates for one GPU. Prefill takes the high end of the measured range (a plan should not
 * come out short). A cached question not measured on this GPU is scaled from one that was, by
 * the ratio of their window prefills; an overridden prefill scales it the same way, since both
 * are prefill work on the same server. Decode per token is a step's time shared by its batch.
 */
export function costRates(gpu: GpuName, o: RateOverrides = {}): CostRates {
  const m = MEASURED[gpu];
  const measuredPrefill = m.windowPrefillS[1];
  const windowPrefillS = o.windowsPerSecond ? 1 / o.windowsPerSecond : measuredPrefill;
  const [cachedAt, cachedS] = cachedQuestionMeasurement(gpu);
  const cachedQuestionS = cachedS * (windowPrefillS / MEASURED[cachedAt].windowPrefillS[1]);
  const decodeSPerToken = o.decodeMsPerToken !== undefined ? o.decodeMsPerToken / 1000 : m.decodeStep.seconds / m.decodeStep.batch;
  const ms = (s: number) => `${+(s * 1000).toFixed(2)} ms`;
  return {
    gpu,
    label: m.label,
    windowPrefillS,
    cachedQuestionS,
    decodeSPerToken,
    sources: {
      prefill: o.windowsPerSecond
        ? `--windows-per-second ${o.windowsPerSecond}`
        : `measured ${m.windowPrefillS[0] === m.windowPrefillS[1] ? `${measuredPrefill} s` : `${m.windowPrefillS[0]}–${measuredPrefill} s (high end)`}, transformers eager`,
      cachedQuestion:
        cachedAt === gpu && !o.windowsPerSecond
          ? `measured ${ms(cachedS)}`
          : `${MEASURED[cachedAt].label}'s measured ${ms(cachedS)} × this prefill / its ${MEASURED[cachedAt].windowPrefillS[1]} s`,
      decode:
        o.decodeMsPerToken !== undefined
          ? `--decode-ms-per-token ${o.decodeMsPerToken}`
          : `measured ${ms(m.decodeStep.seconds)} a step at batch ${m.decodeStep.batch} ÷ ${m.decodeStep.batch}, transformers eager`,
    },
  };
}

/** The GPU whose cached-question figure applies: this one if measured, else the first that was. */
function cachedQuestionMeasurement(gpu: GpuName): [GpuName, number] {
  const own = MEASURED[gpu].cachedQuestionS;
  if (own !== undefined) return [gpu, own];
  const other = GPU_NAMES.find((g) => MEASURED[g].cachedQuestionS !== undefined)!;
  return [other, MEASURED[other].cachedQuestionS!];
}

/** GPU seconds to prefill a window of `videoTokens`: linear in video tokens from the reference window. */
export function prefillSeconds(rates: CostRates, videoTokens: number): number {
  return rates.windowPrefillS * (videoTokens / REFERENCE_WINDOW.videoTokens);
}
