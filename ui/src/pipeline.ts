/**
 * Which pipeline the page follows when the daemon runs several (`GET /api/pipelines`): the
 * fragment keeps it beside the view, `#latency&p=cells`; without `p=` the page follows the
 * daemon's first (what every route answers for by default). Every JSON request and the
 * websocket then carry `?pipeline=<name>`. A switch reloads the page: history, trigger list
 * and charts belong to one pipeline, and a fresh page cannot mix two.
 */

/** The fragment's parts: the view (its first part) and the pipeline (`p=`), null when absent. */
export function parseFragment(fragment: string): { view: string; pipeline: string | null } {
  const [view = '', ...rest] = fragment.replace(/^#/, '').split('&');
  const p = new URLSearchParams(rest.join('&')).get('p');
  return { view, pipeline: p === null || p === '' ? null : p };
}

/** The fragment for `view` on `pipeline` (null: the daemon's first, no `p=`). */
export function fragmentOf(view: string, pipeline: string | null): string {
  return pipeline === null ? view : `${view}&p=${encodeURIComponent(pipeline)}`;
}

/** The pipeline the page at `location` follows; null: the daemon's first. */
export function chosenPipeline(location: Location): string | null {
  return parseFragment(location.hash).pipeline;
}

/** `url` with `?pipeline=<name>` when the page follows a named pipeline. */
export function withPipeline(url: URL, location: Location): URL {
  const p = chosenPipeline(location);
  if (p !== null) url.searchParams.set('pipeline', p);
  return url;
}

/** Follows `pipeline` (null: the first) from now on: the fragment says so, the page starts afresh. */
export function switchPipeline(window: Window, pipeline: string | null): void {
  const { view } = parseFragment(window.location.hash);
  const fragment = fragmentOf(view === '' ? 'overview' : view, pipeline);
  window.history.replaceState(null, '', `#${fragment}`);
  window.location.reload();
}
