/** What `vigil test` reads (a suite file) and what a replay of one case yields; shared by the suite loader, the replay and the report. */

/** A clip-time span in which a query must alert: milliseconds from the clip's first frame. */
export type Span = [from: number, to: number];

export interface SuiteCase {
  /** 0-based position in `cases` (names the case in reports with its clip's file name). */
  index: number;
  /** Absolute path (resolved against the suite file's folder). */
  clip: string;
  camera: string;
  /** Capture time of the clip's first frame (epoch ms). */
  start: number;
  /** Query id → spans (clip ms); `[]`: must not alert at all. */
  expect: Record<string, Span[]>;
}

export interface Thresholds {
  recall?: number;
  precision?: number;
  /** Every true positive's time to alert at most this (ms). */
  timeToAlertMs?: number;
}

export interface Suite {
  file: string;
  /** The config under test (absolute path). */
  config: string;
  model?: string;
  cases: SuiteCase[];
  thresholds: Thresholds;
}

/** One window the replay decided, in clip time. */
export interface WindowRecord {
  query: string;
  start: number;
  end: number;
  /** `asked`: the model answered (or failed: see status); otherwise why it was not asked. */
  status: 'ok' | 'error' | 'truncated' | 'trigger' | string;
  verdict: boolean;
  answer: string;
  tokens: number;
}

/** An incident the replay opened, in clip time: its first positive window. */
export interface IncidentRecord {
  query: string;
  id: string;
  firstWindowStart: number;
  firstWindowEnd: number;
}

/** What one case's replay produced (one config version). */
export interface CaseResult {
  case: SuiteCase;
  incidents: IncidentRecord[];
  /** Every window asked, in clip time, in order of start. */
  windows: WindowRecord[];
  /** Per query: windows not asked, by reason (schedule, no_trigger, budget_camera, …). */
  skipped: Record<string, Record<string, number>>;
  /** Window length per query of the case's camera (ms): spans are widened by it. */
  windowMs: Record<string, number>;
  /** Every query that applies to the case's camera (listed or not under expect). */
  queries: string[];
}
