import { ProtoWriter } from './proto.ts';

/** ONNX element types used here (onnx.TensorProto.DataType). */
export const DType = { float: 1, int64: 7, bool: 9 } as const;

type Attr = number | number[] | string | { floats: number[] };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, Attr>;
}

export interface OnnxTensor {
  name: string;
  dims: number[];
  type: 'float' | 'int64';
  values: number[] | Float32Array;
}

export interface OnnxIo {
  name: string;
  type: 'float' | 'int64' | 'bool';
  /** A number, or a name for a dimension that varies (the batch). */
  shape: (number | string)[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxIo[];
  outputs: OnnxIo[];
  opset?: number;
}

function attribute(name: string, v: Attr): ProtoWriter {
  const a = new ProtoWriter().bytes(1, name);
  // AttributeProto.type: FLOAT 1, INT 2, STRING 3, FLOATS 6, INTS 7.
  if (typeof v === 'string') return a.bytes(4, v).int(20, 3);
  if (Array.isArray(v)) {
    for (const x of v) a.int(8, x);
    return a.int(20, 7);
  }
  if (typeof v === 'object') {
    for (const x of v.floats) a.float(7, x);
    return a.int(20, 6);
  }
  return Number.isInteger(v) ? a.int(3, v).int(20, 2) : a.float(2, v).int(20, 1);
}

function tensor(t: OnnxTensor): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.int(1, d);
  w.int(2, DType[t.type]);
  w.bytes(8, t.name);
  let raw: Buffer;
  if (t.type === 'float') {
    const f = t.values instanceof Float32Array ? t.values : Float32Array.from(t.values);
    raw = Buffer.from(f.buffer, f.byteOffset, f.byteLength);
  } else {
    const b = new BigInt64Array(t.values.length);
    t.values.forEach((v, i) => (b[i] = BigInt(v)));
    raw = Buffer.from(b.buffer);
  }
  return w.bytes(9, raw);
}

function valueInfo(io: OnnxIo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of io.shape) shape.message(1, typeof d === 'number' ? new ProtoWriter().int(1, d) : new ProtoWriter().bytes(2, d));
  const tensorType = new ProtoWriter().int(1, DType[io.type]).message(2, shape);
  return new ProtoWriter().bytes(1, io.name).message(2, new ProtoWriter().message(1, tensorType));
}

/** Serialises a graph as an ONNX ModelProto (IR version 8, default opset 13). */
export function encodeModel(g: OnnxGraph): Buffer {
  const graph = new ProtoWriter();
  g.nodes.forEach((n, i) => {
    const node = new ProtoWriter();
    for (const x of n.inputs) node.bytes(1, x);
    for (const x of n.outputs) node.bytes(2, x);
    node.bytes(3, `${n.op.toLowerCase()}_${i}`).bytes(4, n.op);
    for (const [k, v] of Object.entries(n.attrs ?? {})) node.message(5, attribute(k, v));
    graph.message(1, node);
  });
  graph.bytes(2, g.name);
  for (const t of g.initializers) graph.message(5, tensor(t));
  for (const i of g.inputs) graph.message(11, valueInfo(i));
  for (const o of g.outputs) graph.message(12, valueInfo(o));
  return new ProtoWriter()
    .int(1, 8)
    .bytes(2, 'vigil')
    .message(7, graph)
    .message(8, new ProtoWriter().bytes(1, '').int(2, g.opset ?? 13))
    .finish();
}
