import { scrubber, urlCredentials, type Scrub } from '@vigil/observability';

/**
 * Makes ffmpeg's output about a source safe to log: the URL's password is replaced wherever
 * it appears (ffmpeg may print it decoded), and URLs lose their credentials.
 */
export function scrubberFor(url: string): Scrub {
  return scrubber([urlCredentials(url)?.password]);
}
