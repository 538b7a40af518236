import type { DcImage } from '@vigil/media';
import { GRID_H, GRID_W } from './model.ts';

/**
 * Resamples the picture part of a DC image (above the timestamp band) to the analysis
 * grid, nearest cell: cameras of any size share one model input shape.
 */
export function toGrid(dc: DcImage, bandPx: number, out: Float32Array = new Float32Array(GRID_W * GRID_H)): Float32Array {
  const rows = Math.max(1, Math.min(dc.height, Math.floor((dc.imageHeight - bandPx) / 8)));
  const cols = Math.max(1, Math.min(dc.width, Math.floor(dc.imageWidth / 8)));
  for (let y = 0; y < GRID_H; y++) {
    const sy = Math.min(rows - 1, Math.floor(((y + 0.5) * rows) / GRID_H));
    for (let x = 0; x < GRID_W; x++) {
      const sx = Math.min(cols - 1, Math.floor(((x + 0.5) * cols) / GRID_W));
      out[y * GRID_W + x] = dc.data[sy * dc.width + sx]!;
    }
  }
  return out;
}

/** Grid cells whose centre lies inside a polygon given in relative coordinates. */
export function zoneCells(polygon: [number, number][]): Uint16Array {
  const cells: number[] = [];
  for (let y = 0; y < GRID_H; y++) {
    for (let x = 0; x < GRID_W; x++) {
      if (insidePolygon((x + 0.5) / GRID_W, (y + 0.5) / GRID_H, polygon)) cells.push(y * GRID_W + x);
    }
  }
  return Uint16Array.from(cells);
}

/** Even-odd rule. */
export function insidePolygon(px: number, py: number, poly: [number, number][]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]!;
    const [xj, yj] = poly[j]!;
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
