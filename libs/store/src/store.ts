import type { Finding, Incident } from '@vigil/contracts';

export interface IncidentSearch {
  camera?: string;
  query?: string;
  from?: Date;
  to?: Date;
  /** Full-text over question, answer and reasoning (web-search syntax: quotes, OR, -word). */
  q?: string;
  limit: number;
  cursor?: string;
}

export interface IncidentPage {
  items: Incident[];
  next_cursor: string | null;
}

/** Where incidents live (PostgreSQL in distributed mode). */
export interface IncidentStore {
  /** Creates the incident for a positive finding; returns undefined if it already exists. */
  openFromFinding(finding: Finding, extra: { severity: string; site?: string }): Promise<Incident | undefined>;
  get(id: string): Promise<Incident | undefined>;
  search(s: IncidentSearch): Promise<IncidentPage>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Thrown for a cursor the store did not make. */
export class BadCursorError extends Error {
  constructor() {
    super('cursor is not valid');
    this.name = 'BadCursorError';
  }
}
