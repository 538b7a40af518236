import { sourceUrl, type VigilConfig } from '@vigil/config';
import type { LiveViewRelays } from '@vigil/live-view';
import { refuseUpgrade } from '@vigil/edge';
import type { UpgradeRoute } from './edge.ts';

const LIVE = /^\/api\/cameras\/([A-Za-z0-9_.-]{1,128})\/live$/;

/** `GET /api/cameras/{id}/live` (WebSocket): the camera's live view, for an authenticated viewer. */
export function liveViewRoute(config: () => VigilConfig, relays: LiveViewRelays): UpgradeRoute {
  return {
    match: (path) => {
      const m = LIVE.exec(path);
      return m ? { id: m[1]! } : undefined;
    },
    handle: async (req, socket, head, params, principal) => {
      const cam = config().cameras.find((c) => c.id === params.id);
      if (!cam) return refuseUpgrade(socket, 404, `no camera ${params.id}`);
      // The URL ffmpeg opens: with the camera's username and password fields put in, as ingest does.
      await relays.proxyUpgrade({ id: cam.id, url: sourceUrl(cam) ?? cam.url, transport: cam.transport }, req, socket, head, { principal });
    },
  };
}
