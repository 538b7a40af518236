import type { CropView, VigilConfig } from './types.ts';

/** Room left around a zone's bounding box, as a share of its sides: the model sees the zone's edges. */
const PAD = 0.1;
/** The smallest side of a crop, as a share of the picture's: a tiny zone still shows its surroundings. */
const MIN_SIDE = 0.2;

/** A zone's bounding box, padded, at least MIN_SIDE a side, kept inside the picture. */
export function cropBox(polygon: readonly (readonly [number, number])[]): CropView['box'] {
  const xs = polygon.map((p) => p[0]);
  const ys = polygon.map((p) => p[1]);
  const span = (lo: number, hi: number): [number, number] => {
    const pad = (hi - lo) * PAD;
    let a = lo - pad;
    let b = hi + pad;
    if (b - a < MIN_SIDE) {
      const mid = (a + b) / 2;
      a = mid - MIN_SIDE / 2;
      b = mid + MIN_SIDE / 2;
    }
    // Shift back inside before clipping, so the box keeps its size where the picture allows.
    if (a < 0) [a, b] = [0, b - a];
    if (b > 1) [a, b] = [Math.max(0, a - (b - 1)), 1];
    return [a, b];
  };
  const [x0, x1] = span(Math.min(...xs), Math.max(...xs));
  const [y0, y1] = span(Math.min(...ys), Math.max(...ys));
  const r = (v: number) => Math.round(v * 1e4) / 1e4;
  return { x: r(x0), y: r(y0), w: r(x1 - x0), h: r(y1 - y0) };
}

/**
 * Fills each camera's `crops` from the queries with `zone_view: crop` that watch it. A camera
 * with crops decodes continuously: its crops come from the full-resolution decode ingest
 * runs anyway, where an on_demand camera would decode only keyframes while quiet.
 */
export function withCrops(config: VigilConfig): VigilConfig {
  for (const cam of config.cameras) {
    const zones = new Set(config.queries.filter((q) => q.zoneView === 'crop' && q.zone !== undefined && q.cameras.includes(cam.id)).map((q) => q.zone!));
    const crops = cam.zones.filter((z) => zones.has(z.name)).map((z) => ({ zone: z.name, box: cropBox(z.polygon) }));
    if (crops.length === 0) continue;
    cam.crops = crops;
    cam.decode = 'continuous';
  }
  return config;
}
