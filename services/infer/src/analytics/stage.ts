import ort from 'onnxruntime-node';
import { decodeDcImage } from '@vigil/media';
import { GRID_H, GRID_W, buildAnalyticsModel } from './model.ts';
import { toGrid } from './grid.ts';

/** What the trigger stage knows about one frame. */
export interface FrameStats {
  /** Share of the picture that changed since the camera's previous frame (0..1). */
  motion: number;
  /** The same, per named zone of the camera. */
  zones: Record<string, number>;
  /** Mean absolute change since the previous frame (0 = identical: a frozen feed). */
  change: number;
  brightness: number;
  sharpness: number;
  /** The analysis grid (kept for the detector stage). */
  grid: Float32Array;
}

export interface ZoneCells {
  name: string;
  cells: Uint16Array;
}

interface Pending {
  grid: Float32Array;
  previous: Float32Array;
  zones: ZoneCells[];
  resolve: (s: FrameStats) => void;
  reject: (e: Error) => void;
}

const CELLS = GRID_W * GRID_H;

/**
 * Batches frames of all cameras into one onnxruntime run of the analytics model. Each
 * JPEG is DC-decoded once, when it arrives; a batch runs when `maxBatch` frames wait or
 * `waitMs` after the first, and one run at a time (frames arriving meanwhile form the next).
 */
export class AnalyticsStage {
  private readonly previous = new Map<string, Float32Array>();
  private queue: Pending[] = [];
  private timer?: NodeJS.Timeout;
  private running = false;
  /** Frames analysed and batches run, for metrics. */
  frames = 0;
  batches = 0;
  decodeErrors = 0;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly opts: { maxBatch: number; waitMs: number; bandPx: number; onBatch?: (frames: number) => void },
  ) {}

  static async open(opts: { provider: 'cpu' | 'cuda'; maxBatch: number; waitMs: number; bandPx: number; onBatch?: (frames: number) => void }): Promise<AnalyticsStage> {
    const session = await ort.InferenceSession.create(buildAnalyticsModel(), {
      executionProviders: [opts.provider],
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    });
    return new AnalyticsStage(session, opts);
  }

  /** Stats for each frame, in order; undefined for a frame that cannot be decoded. */
  analyze(cameraId: string, jpegs: Buffer[], zones: ZoneCells[]): Promise<(FrameStats | undefined)[]> {
    const out: Promise<FrameStats | undefined>[] = [];
    for (const jpeg of jpegs) {
      let grid: Float32Array;
      try {
        grid = toGrid(decodeDcImage(jpeg), this.opts.bandPx);
      } catch {
        this.decodeErrors++;
        out.push(Promise.resolve(undefined));
        continue;
      }
      const previous = this.previous.get(cameraId) ?? grid;
      this.previous.set(cameraId, grid);
      out.push(new Promise((resolve, reject) => this.queue.push({ grid, previous, zones, resolve, reject })));
    }
    this.schedule();
    return Promise.all(out);
  }

  forget(cameraId: string): void {
    this.previous.delete(cameraId);
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    await this.session.release();
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    if (this.queue.length >= this.opts.maxBatch) {
      clearTimeout(this.timer);
      this.timer = undefined;
      void this.runBatch();
    } else {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        void this.runBatch();
      }, this.opts.waitMs);
    }
  }

  private async runBatch(): Promise<void> {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const batch = this.queue.splice(0, this.opts.maxBatch);
    const n = batch.length;
    try {
      const frames = new Float32Array(n * CELLS);
      const previous = new Float32Array(n * CELLS);
      batch.forEach((p, i) => (frames.set(p.grid, i * CELLS), previous.set(p.previous, i * CELLS)));
      const dims = [n, 1, GRID_H, GRID_W];
      const r = await this.session.run({ frames: new ort.Tensor('float32', frames, dims), previous: new ort.Tensor('float32', previous, dims) });
      const moving = r.moving!.data as Float32Array;
      const change = r.change!.data as Float32Array;
      const brightness = r.brightness!.data as Float32Array;
      const sharpness = r.sharpness!.data as Float32Array;
      this.frames += n;
      this.batches++;
      this.opts.onBatch?.(n);
      batch.forEach((p, i) => {
        const base = i * CELLS;
        let moved = 0;
        for (let c = 0; c < CELLS; c++) moved += moving[base + c]!;
        const zones: Record<string, number> = {};
        for (const z of p.zones) {
          let m = 0;
          for (const c of z.cells) m += moving[base + c]!;
          zones[z.name] = z.cells.length ? m / z.cells.length : 0;
        }
        p.resolve({ motion: moved / CELLS, zones, change: change[i]!, brightness: brightness[i]!, sharpness: sharpness[i]!, grid: p.grid });
      });
    } catch (e) {
      for (const p of batch) p.reject(e as Error);
    } finally {
      this.running = false;
      this.schedule();
    }
  }
}
