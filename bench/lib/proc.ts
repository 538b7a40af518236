import { readFileSync, readdirSync } from 'node:fs';

const TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user + system) used so far by a process. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

/** Resident memory of a process in MiB. */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Direct children of a process. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const list = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (list) out.push(...list.split(/\s+/).map(Number));
    }
  } catch {
    /* process gone */
  }
  return out;
}

/** CPU seconds of a process and all its descendants alive now. */
export function treeCpuSeconds(pid: number): number {
  return cpuSeconds(pid) + childrenOf(pid).reduce((s, c) => s + treeCpuSeconds(c), 0);
}

/** A process's command line, as its arguments. */
export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** Reads one metric (summed over matching label sets) from a Prometheus text page. */
export function metric(text: string, name: string, labelFilter = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (labelFilter && !(m[2] ?? '').includes(labelFilter)) continue;
    sum += Number(m[3]);
  }
  return sum;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Parses `--name value` and `--flag` arguments. */
export function parseFlags(args: string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) continue;
    const next = args[i + 1];
    if (next !== undefined && !next.startsWith('--')) flags.set(a.slice(2), args[++i]!);
    else flags.set(a.slice(2), 'true');
  }
  return flags;
}

/** One process as /proc/<pid>/stat has it: its own CPU and the CPU of the children it reaped. */
export interface ProcStat {
  pid: number;
  comm: string;
  /** utime + stime, seconds. */
  own: number;
  /** cutime + cstime, seconds: every child this process waited for, with what those had reaped. */
  reaped: number;
  /** Start time in clock ticks since boot: with the pid, a key that survives pid reuse. */
  start: number;
}

export function procStat(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat.slice(close + 2).split(' ');
    // f[0] is field 3 (state): utime 14, stime 15, cutime 16, cstime 17, starttime 22.
    return { pid, comm, own: (Number(f[11]) + Number(f[12])) / TICKS, reaped: (Number(f[13]) + Number(f[14])) / TICKS, start: Number(f[19]) };
  } catch {
    return undefined;
  }
}

/** A process and all its descendants alive (or not yet reaped) now, parents before children. */
export function processTree(root: number): ProcStat[] {
  const out: ProcStat[] = [];
  const walk = (pid: number) => {
    const s = procStat(pid);
    if (!s) return;
    out.push(s);
    for (const c of childrenOf(pid)) walk(c);
  };
  walk(root);
  return out;
}

export interface TreeWindow {
  /** CPU seconds of the whole tree over the window: every live process's own + reaped CPU, end minus start. */
  cpu: number;
  /** The root's own CPU seconds. */
  rootCpu: number;
  /** The same total from the samples alone (last seen CPU of every process, less its CPU at the start). */
  sampledCpu: number;
  /** Sampled CPU seconds and process count by command name (or the label given), the root excluded. */
  byComm: Record<string, { cpu_s: number; processes: number }>;
  processesSeen: number;
  started: number;
  exited: number;
}

/**
 * CPU of a process tree over a window, with descendants that come and go. Two ways, which
 * should agree: (1) exact for any descendant reaped by its parent, as Node reaps its
 * children: a process's cutime/cstime hold the CPU of every child it waited for, so the sum
 * of utime+stime+cutime+cstime over the live tree, end minus start, counts the processes that
 * started or exited in the window too; (2) sampled: the tree is re-listed at every `tick()`
 * (call it every second) and each process's last seen CPU is kept, so one that exited
 * loses at most its CPU since the last tick. Processes are keyed by pid and start time.
 */
export class TreeSampler {
  private base = new Map<string, number>();
  private seen = new Map<string, { comm: string; last: number; lastTick: number }>();
  private startTotal = 0;
  private startRoot = 0;
  private ticks = 0;

  /** `label` names a process in `byComm` (default: its command name); asked once per process. */
  constructor(
    readonly root: number,
    private readonly label: (pid: number, comm: string) => string = (_, comm) => comm,
  ) {}

  private static total(tree: ProcStat[]): number {
    return tree.reduce((s, p) => s + p.own + p.reaped, 0);
  }

  private record(tree: ProcStat[]): void {
    this.ticks++;
    for (const p of tree) {
      const key = `${p.pid}/${p.start}`;
      const comm = this.seen.get(key)?.comm ?? this.label(p.pid, p.comm);
      this.seen.set(key, { comm, last: p.own, lastTick: this.ticks });
    }
  }

  begin(): void {
    const tree = processTree(this.root);
    this.base = new Map(tree.map((p) => [`${p.pid}/${p.start}`, p.own]));
    this.seen.clear();
    this.ticks = 0;
    this.record(tree);
    this.startTotal = TreeSampler.total(tree);
    this.startRoot = tree[0]?.own ?? 0;
  }

  tick(): void {
    this.record(processTree(this.root));
  }

  end(): TreeWindow {
    const tree = processTree(this.root);
    this.record(tree);
    const rootKey = `${this.root}/${tree[0]?.start}`;
    const byComm: TreeWindow['byComm'] = {};
    let sampledCpu = 0;
    for (const [key, p] of this.seen) {
      const cpu = p.last - (this.base.get(key) ?? 0);
      sampledCpu += cpu;
      if (key === rootKey) continue;
      const c = (byComm[p.comm] ??= { cpu_s: 0, processes: 0 });
      c.cpu_s += cpu;
      c.processes++;
    }
    const liveAtEnd = new Set(tree.map((p) => `${p.pid}/${p.start}`));
    return {
      cpu: TreeSampler.total(tree) - this.startTotal,
      rootCpu: (tree[0]?.own ?? 0) - this.startRoot,
      sampledCpu,
      byComm,
      processesSeen: this.seen.size,
      started: [...this.seen.keys()].filter((k) => !this.base.has(k)).length,
      exited: [...this.seen.keys()].filter((k) => !liveAtEnd.has(k)).length,
    };
  }
}
