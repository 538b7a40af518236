/**
 * Bars per time bucket, one colour per series; plain SVG, no chart library. Counts stack
 * (their sum means something); means and percentages sit side by side (`grouped`), on a fixed
 * scale when given (`max`, e.g. 100 for %).
 */
export interface Series {
  name: string;
  values: number[];
}

const COLOURS = ['#4ea1ff', '#f0673c', '#3fb950', '#d9a520', '#bc8cff', '#ff7eb6', '#39c5cf', '#8b96a3'];

export function BarChart(props: { labels: string[]; series: Series[]; height?: number; unit?: string; title: string; grouped?: boolean; max?: number }) {
  const h = props.height ?? 180;
  const w = Math.max(320, props.labels.length * 18);
  const n = Math.max(1, props.series.length);
  const heights = props.grouped ? props.series.flatMap((se) => se.values) : props.labels.map((_, i) => props.series.reduce((s, se) => s + (se.values[i] ?? 0), 0));
  const max = props.max ?? Math.max(1, ...heights);
  const bw = (w - 40) / Math.max(1, props.labels.length);
  // A few buckets should not become slabs: bars stay narrow and centred in their bucket.
  const slot = Math.min(props.grouped ? (bw - 2) / n : bw - 2, 36);
  const used = props.grouped ? slot * n : slot;
  const unit = props.unit ?? '';
  return (
    <figure style="margin:0">
      <svg class="chart" viewBox={`0 0 ${w} ${h + 24}`} width="100%" role="img" aria-label={props.title}>
        <text x="0" y="10">{`${fmt(max)}${unit}`}</text>
        {props.labels.map((label, i) => {
          let y = h;
          const x0 = 40 + i * bw + (bw - used) / 2;
          return (
            <g key={label}>
              {props.series.map((se, s) => {
                const v = se.values[i] ?? 0;
                const bh = (Math.min(v, max) / max) * (h - 16);
                const top = props.grouped ? h - bh : (y -= bh);
                return v > 0 ? (
                  <rect x={props.grouped ? x0 + s * slot : x0} y={top} width={Math.max(1, slot - (props.grouped ? 1 : 0))} height={bh} fill={COLOURS[s % COLOURS.length]}>
                    <title>{`${se.name} · ${label}: ${fmt(v)}${unit}`}</title>
                  </rect>
                ) : null;
              })}
              {i % Math.ceil(props.labels.length / 8) === 0 && (
                <text x={40 + i * bw + bw / 2} y={h + 16} text-anchor="middle">
                  {label}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption class="legend">
        {props.series.map((s, i) => (
          <span style={`--c:${COLOURS[i % COLOURS.length]}`}>{s.name}</span>
        ))}
      </figcaption>
    </figure>
  );
}

const fmt = (n: number) => (n >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(Math.round(n * 10) / 10));
