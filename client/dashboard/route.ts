/** Hash routes of the dashboard: `#/` (overview) and `#/jobs/:id` (one job). */
import { useEffect, useState } from 'preact/hooks';

export type Route = { page: 'home' } | { page: 'job'; id: string };

export function parseRoute(hash: string): Route {
  const match = /^#\/jobs\/([^/?#]+)/.exec(hash);
  if (match?.[1]) return { page: 'job', id: decodeURIComponent(match[1]) };
  return { page: 'home' };
}

export function jobHref(id: string): string {
  return `#/jobs/${encodeURIComponent(id)}`;
}

export const HOME_HREF = '#/';

/** The current route, following `hashchange`. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const follow = () => {
      setRoute(parseRoute(location.hash));
      window.scrollTo(0, 0);
    };
    window.addEventListener('hashchange', follow);
    return () => window.removeEventListener('hashchange', follow);
  }, []);
  return route;
}
