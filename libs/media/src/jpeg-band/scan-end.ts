/**
 * Where a frame's scan bytes end: at the EOI marker that ends the file (less any FF fill
 * bytes before it). The band follows a restart marker, so no bit position is needed and the
 * scan is never decoded. Also checks that no other marker sits in the scan (a restart
 * marker, a second scan), with a memchr-speed search for FF.
 */
export function findScanBytesEnd(d: Uint8Array, start: number): number {
  const n = d.length;
  if (n < start + 2 || d[n - 2] !== 0xff || d[n - 1] !== 0xd9) throw new Error('cannot splice a band: the JPEG does not end with an EOI marker');
  let eoi = n - 2;
  // In entropy-coded data an FF is always followed by 00, so FFs right before EOI are fill.
  while (eoi > start && d[eoi - 1] === 0xff) eoi--;
  const b = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  for (let q = b.indexOf(0xff, start); q >= 0 && q < eoi; q = b.indexOf(0xff, q + 2)) {
    if (d[q + 1] !== 0x00) throw new Error(`cannot splice a band: marker 0x${d[q + 1]!.toString(16)} inside the scan at byte ${q}`);
  }
  return eoi;
}
