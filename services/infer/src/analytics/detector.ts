import ort from 'onnxruntime-node';
import { GRID_H, GRID_W } from './model.ts';

/** One detected object, box in relative coordinates (0..1) of the picture. */
export interface Detection {
  label: string;
  score: number;
  box: { x1: number; y1: number; x2: number; y2: number };
}

/**
 * Reads a YOLO-style output `[N, 4 + classes, boxes]` (cx, cy, w, h in input pixels, then
 * one score per class) for image `i`: the best class per box, boxes under `minScore` dropped.
 */
export function decodeYolo(data: Float32Array, dims: readonly number[], i: number, input: number, labels: string[], minScore: number): Detection[] {
  const [, rows, boxes] = dims as [number, number, number];
  const classes = rows - 4;
  if (classes < 1) throw new Error(`detector output has ${rows} rows; expected 4 + classes`);
  const base = i * rows * boxes;
  const at = (r: number, b: number) => data[base + r * boxes + b]!;
  const out: Detection[] = [];
  for (let b = 0; b < boxes; b++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (at(4 + c, b) > at(4 + best, b)) best = c;
    const score = at(4 + best, b);
    if (score < minScore) continue;
    const cx = at(0, b) / input;
    const cy = at(1, b) / input;
    const w = at(2, b) / input;
    const h = at(3, b) / input;
    out.push({ label: labels[best] ?? `class${best}`, score, box: { x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2 } });
  }
  return out;
}

function iou(a: Detection['box'], b: Detection['box']): number {
  const w = Math.max(0, Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1));
  const h = Math.max(0, Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));
  const inter = w * h;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}

/** Greedy non-maximum suppression per label: keeps the best box of each overlapping group. */
export function nms(dets: Detection[], iouThreshold: number): Detection[] {
  const kept: Detection[] = [];
  for (const d of [...dets].sort((a, b) => b.score - a.score)) {
    if (!kept.some((k) => k.label === d.label && iou(k.box, d.box) > iouThreshold)) kept.push(d);
  }
  return kept;
}

/**
 * A user's YOLO-style detector run on the analysis grids of many frames in one batch.
 * Its input is the grey analysis grid scaled to the model's square input and repeated over
 * three channels — enough for coarse "is there a person in the zone" triggers; a full
 * resolution decode per frame would cost tens of milliseconds of CPU.
 */
export class DetectorStage {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly opts: { input: number; labels: string[]; score: number; iou: number },
  ) {}

  static async open(model: string | Uint8Array, opts: { provider: 'cpu' | 'cuda'; input: number; labels: string[]; score: number; iou: number }): Promise<DetectorStage> {
    const session =
      typeof model === 'string'
        ? await ort.InferenceSession.create(model, { executionProviders: [opts.provider] })
        : await ort.InferenceSession.create(model, { executionProviders: [opts.provider] });
    return new DetectorStage(session, opts);
  }

  async detect(grids: Float32Array[]): Promise<Detection[][]> {
    if (grids.length === 0) return [];
    const s = this.opts.input;
    const plane = s * s;
    const x = new Float32Array(grids.length * 3 * plane);
    grids.forEach((g, i) => {
      for (let y = 0; y < s; y++) {
        const gy = Math.min(GRID_H - 1, Math.floor((y * GRID_H) / s));
        for (let xx = 0; xx < s; xx++) {
          const v = g[gy * GRID_W + Math.min(GRID_W - 1, Math.floor((xx * GRID_W) / s))]! / 255;
          for (let c = 0; c < 3; c++) x[i * 3 * plane + c * plane + y * s + xx] = v;
        }
      }
    });
    const name = this.session.inputNames[0]!;
    const r = await this.session.run({ [name]: new ort.Tensor('float32', x, [grids.length, 3, s, s]) });
    const out = r[this.session.outputNames[0]!]!;
    return grids.map((_, i) => nms(decodeYolo(out.data as Float32Array, out.dims, i, s, this.opts.labels, this.opts.score), this.opts.iou));
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
