import type { QueryConfig, VigilConfig } from './types.ts';

/**
 * Queries of one camera in the same share class see the same frames whenever their windows
 * end together (same length and frame budget; windows sit on one capture-time grid) and are
 * sent the same way (profile), so one video prefill serves them all. Their `every` decides
 * how often the windows end together: always when equal, every 4 s for 2 s and 4 s.
 */
export function shareClass(q: QueryConfig, profile: string, cameraFps: number): string {
  // A query cannot send more frames than its camera delivers: at or above it, it sends them all.
  // A zone drawn on the frames makes them other frames; a zone only named does not.
  const view = q.zoneView !== 'name' ? `/${q.zoneView}:${q.zone}` : '';
  return `${q.windowMs}/${Math.min(q.fps ?? cameraFps, cameraFps)}/${profile}${view}`;
}

const secs = (ms: number) => `${ms / 1000}s`;
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * What keeps a camera's questions from sharing one video prefill, in words for `vigil
 * validate`: queries whose windows differ in length, fps, profile or outlined zone never share; equal
 * windows with different `every` share only when they end together.
 */
export function sharingNotes(config: VigilConfig): string[] {
  if (config.model.share === 'none') return [];
  const notes: string[] = [];
  const profileOf = (q: QueryConfig) => q.model.profile ?? config.model.profile;
  for (const cam of config.cameras) {
    const qs = config.queries.filter((q) => q.cameras.includes(cam.id));
    if (qs.length < 2) continue;
    const classes = new Map<string, QueryConfig[]>();
    const cls = (q: QueryConfig) => shareClass(q, profileOf(q), cam.fps);
    for (const q of qs) classes.set(cls(q), [...(classes.get(cls(q)) ?? []), q]);
    if (classes.size > 1) {
      const outlined = qs.some((q) => q.zoneView !== 'name');
      const view = (q: QueryConfig) => (!outlined ? '' : q.zoneView === 'outline' ? `, zone ${q.zone} outlined` : q.zoneView === 'crop' ? `, zone ${q.zone} cropped` : ', whole scene');
      const list = [...classes.values()].map((g) => `${g.map((q) => q.id).join(', ')} (${secs(g[0]!.windowMs)} window, ${g[0]!.fps ?? cam.fps} fps${new Set(qs.map(profileOf)).size > 1 ? `, ${profileOf(g[0]!)}` : ''}${view(g[0]!)})`);
      notes.push(`camera ${cam.id}: ${list.join(' / ')} see different frames, so each pays for its own video prefill; the same window, fps${outlined ? ', profile and zone view' : ' and profile'} would let them share one`);
    }
    for (const group of classes.values()) {
      const everies = [...new Set(group.map((q) => q.everyMs))];
      if (everies.length < 2) continue;
      const together = everies.reduce((a, b) => (a * b) / gcd(a, b));
      notes.push(`camera ${cam.id}: ${group.map((q) => `${q.id} (every ${secs(q.everyMs)})`).join(', ')} share a prefill only when their windows end together (every ${secs(together)}); the same every would share every window`);
    }
  }
  return notes;
}
