import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './http-util.ts';

/** Streams a stored evidence file, honouring one `Range: bytes=a-b` (for <video> seeking). */
export async function sendFile(req: IncomingMessage, res: ServerResponse, path: string, type: string): Promise<number> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    sendJson(res, 404, { error: 'evidence file is gone (deleted by retention?)' });
    return 404;
  }
  const headers = { 'content-type': type, 'cache-control': 'private, max-age=3600', 'accept-ranges': 'bytes' };
  const range = req.headers.range;
  let start = 0;
  let end = size - 1;
  let status = 200;
  if (range) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range);
    if (m && (m[1] || m[2])) {
      start = m[1] ? Number(m[1]) : Math.max(0, size - Number(m[2]));
      end = m[1] && m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
    }
    if (!m || start > end || start >= size) {
      sendJson(res, 416, { error: `range ${range} is not satisfiable (size ${size})` }, { 'content-range': `bytes */${size}` });
      return 416;
    }
    status = 206;
  }
  res.writeHead(status, { ...headers, 'content-length': String(end - start + 1), ...(status === 206 ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}) });
  if (req.method === 'HEAD') {
    res.end();
    return status;
  }
  await new Promise<void>((resolve) => createReadStream(path, { start, end }).on('error', () => (res.destroy(), resolve())).on('end', resolve).pipe(res));
  return status;
}
