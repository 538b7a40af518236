import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { BarChart, type Series } from '../components/bar-chart.tsx';

interface Row {
  bucket: string;
  key: string;
  value: number;
}

/** Incidents per hour by camera or query; model latency and tokens per hour; camera uptime. */
export function ChartsView() {
  const [by, setBy] = useState<'camera' | 'query'>('camera');
  return (
    <section aria-labelledby="charts-title">
      <div style="display:flex;align-items:center;gap:1rem">
        <h1 id="charts-title">Charts</h1>
        <label class="muted" style="margin-left:auto">
          Incidents by{' '}
          <select value={by} onChange={(e) => setBy((e.target as HTMLSelectElement).value as 'camera' | 'query')}>
            <option value="camera">camera</option>
            <option value="query">query</option>
          </select>
        </label>
      </div>
      <div class="charts">
        <Chart title={`Incidents per hour by ${by}`} path={`/api/stats/incidents?bucket=hour&by=${by}`} />
        <Chart title="Model latency per hour (mean, ms)" path="/api/stats/model?bucket=hour&metric=latency_ms" unit=" ms" grouped />
        <Chart title="Model tokens per hour" path="/api/stats/model?bucket=hour&metric=tokens" />
        <Chart title="Camera uptime per hour (%)" path="/api/stats/uptime?bucket=hour" unit="%" grouped max={100} />
      </div>
    </section>
  );
}

function Chart(props: { title: string; path: string; unit?: string; grouped?: boolean; max?: number }) {
  const [rows, setRows] = useState<Row[] | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    api<unknown>(props.path).then(
      (r) => setRows(toRows(r)),
      (e: Error) => setError(e.message),
    );
  }, [props.path]);
  const buckets = [...new Set((rows ?? []).map((r) => r.bucket))].sort();
  const keys = [...new Set((rows ?? []).map((r) => r.key))].sort();
  const series: Series[] = keys.map((k) => ({ name: k, values: buckets.map((b) => rows!.filter((r) => r.bucket === b && r.key === k).reduce((s, r) => s + r.value, 0)) }));
  const labels = buckets.map((b) => new Date(b).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }));
  return (
    <div class="panel" data-chart={props.title}>
      <h2 style="margin-top:0">{props.title}</h2>
      {error ? <p class="muted">Not available: {error}</p> : rows === null ? <p class="muted">Loading…</p> : rows.length === 0 ? <p class="muted">No data yet.</p> : <BarChart title={props.title} labels={labels} series={series} unit={props.unit} grouped={props.grouped} max={props.max} />}
    </div>
  );
}

/** The stats endpoints answer `{series: [{key, points: [{t, count | value}]}]}`. */
function toRows(r: unknown): Row[] {
  const series = (r as { series?: { key: string; points: { t: string; count?: number; value?: number }[] }[] }).series ?? [];
  return series.flatMap((s) => s.points.map((p) => ({ bucket: p.t, key: s.key || '—', value: Number(p.count ?? p.value ?? 0) })));
}
