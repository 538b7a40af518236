import type { Label } from '@vigil/contracts';

/** Seconds of video kept before and after a label's span in its case's clip. */
const PAD_MS = 30_000;

/** One line, no control characters: notes go into YAML comments. */
const oneLine = (s: string) => s.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').slice(0, 300);
/** A YAML double-quoted scalar (JSON strings are valid YAML). */
const q = (s: string) => JSON.stringify(s);

/** Milliseconds into the clip as the suite writes clip times ("m:ss.s"). */
function clipTime(ms: number): string {
  const tenths = Math.round(ms / 100);
  const m = Math.floor(tenths / 600);
  const s = (tenths % 600) / 10;
  return `${m}:${s < 10 ? '0' : ''}${s.toFixed(1)}`;
}

/**
 * Operator labels as a `vigil test` suite skeleton: one case per label, its clip starting 30 s
 * before the span. A missed span is a span where the query must fire; a false positive lists
 * the query with no span, so any incident in that clip scores as a false positive.
 */
export function labelsToSuite(labels: Label[], now = new Date()): string {
  const out = [
    `# A \`vigil test\` suite skeleton from ${labels.length} operator label(s), exported ${now.toISOString()}.`,
    '# Clips are not retained yet: supply each case\'s recording (the camera from `start`, as long',
    '# as the comment says) at its clip path, and point `config` at the config under test.',
    '# Then: vigil test suite.yaml --model http://host:8000',
    'config: ./vigil.yaml',
  ];
  if (labels.length === 0) {
    out.push('# No labels match: the suite format needs at least one case, so this one is a placeholder.');
  }
  out.push('cases:');
  for (const l of labels) {
    const from = Date.parse(l.from);
    const to = Date.parse(l.to);
    const start = from - PAD_MS;
    const length = Math.round((to - from + 2 * PAD_MS) / 1000);
    const what = l.kind === 'missed' ? `missed: ${l.query} must fire` : `false positive (incident ${l.incident ?? '?'}): ${l.query} must not fire`;
    out.push(`  # Label ${l.id}, ${what}; by ${oneLine(l.by)} at ${l.at}${l.note ? ` — ${oneLine(l.note)}` : ''}`);
    out.push(`  - clip: ${q(`./clips/${safe(l.camera)}-${l.from.replace(/[-:.]/g, '')}.mp4`)}  # placeholder: supply ${length} s of ${oneLine(l.camera)} from start`);
    out.push(`    camera: ${q(l.camera)}`);
    out.push(`    start: ${q(new Date(start).toISOString())}`);
    out.push('    expect:');
    out.push(l.kind === 'missed' ? `      ${q(l.query)}: [[${q(clipTime(from - start))}, ${q(clipTime(to - start))}]]` : `      ${q(l.query)}: []`);
  }
  if (labels.length === 0) out.push('  - { clip: "./clips/placeholder.mp4", camera: "camera-id", expect: {} }');
  return `${out.join('\n')}\n`;
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');
