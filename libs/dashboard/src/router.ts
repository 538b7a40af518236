import { useEffect, useState } from 'preact/hooks';

/** Routes live in the hash (`#/search?q=…`), so a view and its filters can be shared as a link. */
export interface Route {
  path: string;
  params: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/live';
  const [path, query] = raw.split('?', 2);
  return { path: path || '/live', params: new URLSearchParams(query ?? '') };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function navigate(path: string, params?: URLSearchParams): void {
  const q = params && [...params.keys()].length ? `?${params.toString()}` : '';
  location.hash = `#${path}${q}`;
}
