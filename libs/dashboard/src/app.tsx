import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, auth, signOut, startMediaSession } from './api.ts';
import { live, useConfigStatus, useConnected } from './live.ts';
import { useRoute } from './router.ts';
import { LiveView } from './views/live.tsx';
import { CamerasView } from './views/cameras.tsx';
import { IncidentView } from './views/incident.tsx';
import { SearchView } from './views/search.tsx';
import { ChartsView } from './views/charts.tsx';
import { QueriesView } from './views/queries.tsx';
import { TimelineView } from './views/timeline.tsx';
import { ShadowsView } from './views/shadows.tsx';
import { SignIn } from './views/signin.tsx';

const NAV = [
  ['/live', 'Live'],
  ['/cameras', 'Cameras'],
  ['/search', 'Search'],
  ['/charts', 'Charts'],
  ['/queries', 'Queries'],
  ['/timeline', 'Timeline'],
  ['/shadows', 'Shadows'],
] as const;

export function App() {
  const route = useRoute();
  const connected = useConnected();
  const [needsToken, setNeedsToken] = useState<string | null>(null);
  const [ready, setReady] = useState(false);
  const configStatus = useConfigStatus(ready);

  const start = async () => {
    try {
      await api('/api/incidents?limit=1');
      await startMediaSession();
      setNeedsToken(null);
      live.start();
      setReady(true);
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403)) setNeedsToken(auth.token ? 'That token is not accepted here.' : 'This Vigil requires an API token.');
      else setReady(true);
    }
  };
  useEffect(() => {
    if (new URLSearchParams(location.search).has('wall')) document.body.classList.add('wall');
    void start();
  }, []);

  if (needsToken) return <SignIn reason={needsToken} onSignedIn={() => void start()} />;
  if (!ready) return <p class="boot">Connecting…</p>;
  const id = /^\/incidents\/(.+)$/.exec(route.path)?.[1];
  return (
    <>
      <a href="#main" class="muted" style="position:absolute;left:-999px" onFocus={(e) => ((e.target as HTMLElement).style.left = '0')}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">VIGIL</span>
        <nav aria-label="Views">
          {NAV.map(([path, label]) => (
            <a href={`#${path}`} aria-current={route.path === path ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span class="conn" role="status">
          <span>
            <span class={`dot${connected ? ' live' : ''}`} />
            {connected ? 'live' : 'reconnecting…'}
          </span>
          {auth.token && (
            <button
              onClick={() => void signOut().then(() => location.reload())}
            >
              Sign out
            </button>
          )}
        </span>
      </header>
      {configStatus?.refused && (
        <div class="error config-refused" role="alert">
          <strong>The edited config was refused</strong> ({new Date(configStatus.refused.at).toLocaleTimeString()}); Vigil keeps running the previous one. Fix the file and save it again:
          <pre>{configStatus.refused.error}</pre>
        </div>
      )}
      <main id="main">
        {id ? (
          <IncidentView id={decodeURIComponent(id)} />
        ) : route.path === '/cameras' ? (
          <CamerasView />
        ) : route.path === '/search' ? (
          <SearchView route={route} />
        ) : route.path === '/charts' ? (
          <ChartsView />
        ) : route.path === '/queries' ? (
          <QueriesView />
        ) : route.path === '/timeline' ? (
          <TimelineView route={route} />
        ) : route.path === '/shadows' ? (
          <ShadowsView />
        ) : (
          <LiveView />
        )}
      </main>
    </>
  );
}
