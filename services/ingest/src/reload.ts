import type { CameraConfig } from '@vigil/config';

/** The reload subject lives with its message in @vigil/contracts; re-exported for old importers. */
export { RELOAD_SUBJECT } from '@vigil/contracts';

/** How a new camera list differs from the running one. */
export interface CameraDiff {
  added: CameraConfig[];
  removed: string[];
  /** Something ffmpeg uses changed: the camera restarts. */
  changed: CameraConfig[];
  /** Only labels changed (name, site, tags): updated in place, ffmpeg untouched. */
  relabelled: CameraConfig[];
  unchanged: string[];
}

/** The fields that decide how ffmpeg runs; any change to them restarts the camera. */
function pipelineKey(c: CameraConfig): string {
  return JSON.stringify([c.url, c.username, c.password, c.transport, c.fps, c.width, c.hwaccel, c.inputArgs, c.stallTimeoutMs, c.decode, c.keyframeEvery, c.detectUrl, c.detectFps, c.crops]);
}

function labelKey(c: CameraConfig): string {
  return JSON.stringify([c.name, c.site, c.tags]);
}

/** Compares camera lists by id. */
export function diffCameras(running: readonly CameraConfig[], next: readonly CameraConfig[]): CameraDiff {
  const before = new Map(running.map((c) => [c.id, c]));
  const diff: CameraDiff = { added: [], removed: [], changed: [], relabelled: [], unchanged: [] };
  const seen = new Set<string>();
  for (const c of next) {
    seen.add(c.id);
    const old = before.get(c.id);
    if (!old) diff.added.push(c);
    else if (pipelineKey(old) !== pipelineKey(c)) diff.changed.push(c);
    else if (labelKey(old) !== labelKey(c)) diff.relabelled.push(c);
    else diff.unchanged.push(c.id);
  }
  for (const id of before.keys()) if (!seen.has(id)) diff.removed.push(id);
  return diff;
}
