/** Stacked bars per time bucket, one colour per series; plain SVG, no chart library. */
export interface Series {
  name: string;
  values: number[];
}

const COLOURS = ['#4ea1ff', '#f0673c', '#3fb950', '#d9a520', '#bc8cff', '#ff7eb6', '#39c5cf', '#8b96a3'];

export function BarChart(props: { labels: string[]; series: Series[]; height?: number; unit?: string; title: string }) {
  const h = props.height ?? 180;
  const w = Math.max(320, props.labels.length * 18);
  const totals = props.labels.map((_, i) => props.series.reduce((s, se) => s + (se.values[i] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const bw = (w - 40) / Math.max(1, props.labels.length);
  return (
    <figure style="margin:0">
      <svg class="chart" viewBox={`0 0 ${w} ${h + 24}`} width="100%" role="img" aria-label={props.title}>
        <text x="0" y="10">{`${fmt(max)}${props.unit ?? ''}`}</text>
        {props.labels.map((label, i) => {
          let y = h;
          return (
            <g key={label}>
              {props.series.map((se, s) => {
                const v = se.values[i] ?? 0;
                const bh = (v / max) * (h - 16);
                y -= bh;
                return v > 0 ? (
                  <rect x={40 + i * bw + 1} y={y} width={Math.max(1, bw - 2)} height={bh} fill={COLOURS[s % COLOURS.length]}>
                    <title>{`${se.name} · ${label}: ${fmt(v)}${props.unit ?? ''}`}</title>
                  </rect>
                ) : null;
              })}
              {i % Math.ceil(props.labels.length / 8) === 0 && (
                <text x={40 + i * bw} y={h + 16}>
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
