import { encodeModel } from '../onnx/graph.ts';

/** The analysis grid every frame is resampled to (16:9, from the 1/8-scale DC image). */
export const GRID_W = 64;
export const GRID_H = 36;
/** A grid cell "moved" when its mean brightness changed by more than this (0..255). */
export const MOTION_DELTA = 12;

/**
 * The per-frame analytics model, written as ONNX so one batched onnxruntime run covers
 * frames of many cameras (CPU here, CUDA with `onnx.provider: cuda`).
 * Inputs `frames` and `previous` [N,1,H,W] (grey 0..255; previous = the camera's frame before).
 * Outputs: `moving` [N,H*W] (1 where the cell changed), `change` [N] (mean absolute
 * difference: 0 means a frozen feed), `brightness` [N] (a covered or dead camera is dark),
 * `sharpness` [N] (variance of the Laplacian: low means blurred or fogged).
 */
export function buildAnalyticsModel(): Buffer {
  const shape = ['N', 1, GRID_H, GRID_W];
  const all = { axes: [1, 2, 3], keepdims: 0 };
  return encodeModel({
    name: 'vigil-frame-analytics',
    inputs: [
      { name: 'frames', type: 'float', shape },
      { name: 'previous', type: 'float', shape },
    ],
    outputs: [
      { name: 'moving', type: 'float', shape: ['N', GRID_H * GRID_W] },
      { name: 'change', type: 'float', shape: ['N'] },
      { name: 'brightness', type: 'float', shape: ['N'] },
      { name: 'sharpness', type: 'float', shape: ['N'] },
    ],
    initializers: [
      { name: 'delta', dims: [], type: 'float', values: [MOTION_DELTA] },
      { name: 'flat', dims: [2], type: 'int64', values: [-1, GRID_H * GRID_W] },
      { name: 'laplacian', dims: [1, 1, 3, 3], type: 'float', values: [0, 1, 0, 1, -4, 1, 0, 1, 0] },
    ],
    nodes: [
      { op: 'Sub', inputs: ['frames', 'previous'], outputs: ['diff'] },
      { op: 'Abs', inputs: ['diff'], outputs: ['absdiff'] },
      { op: 'ReduceMean', inputs: ['absdiff'], outputs: ['change'], attrs: all },
      { op: 'Greater', inputs: ['absdiff', 'delta'], outputs: ['moved'] },
      { op: 'Cast', inputs: ['moved'], outputs: ['movedf'], attrs: { to: 1 } },
      { op: 'Reshape', inputs: ['movedf', 'flat'], outputs: ['moving'] },
      { op: 'ReduceMean', inputs: ['frames'], outputs: ['brightness'], attrs: all },
      { op: 'Conv', inputs: ['frames', 'laplacian'], outputs: ['lap'] },
      { op: 'Mul', inputs: ['lap', 'lap'], outputs: ['lap2'] },
      { op: 'ReduceMean', inputs: ['lap2'], outputs: ['lapsq'], attrs: all },
      { op: 'ReduceMean', inputs: ['lap'], outputs: ['lapmean'], attrs: all },
      { op: 'Mul', inputs: ['lapmean', 'lapmean'], outputs: ['lapmean2'] },
      { op: 'Sub', inputs: ['lapsq', 'lapmean2'], outputs: ['sharpness'] },
    ],
  });
}
