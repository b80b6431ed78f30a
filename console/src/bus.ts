/**
 * The bus panel: what GET /__heartbeat__ reports of every dependency of the gateway (the broker,
 * each bus service the routes call, the storage backends), and the hello's version. The
 * services' workers and queues are not told by any endpoint yet; this panel shows them once one does.
 */
import { ApiError, type Json } from './api.js';
import { attempt, h } from './dom.js';

async function getJson(path: string): Promise<{ status: number; body: Json }> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { accept: 'application/json' } });
  } catch {
    throw new ApiError('The gateway cannot be reached; check the connection and try again', 0);
  }
  const body = (await res.json().catch(() => ({}))) as Json;
  // The heartbeat answers 503 with the same map when a dependency fails: that is data, not an error.
  if (!res.ok && res.status !== 503)
    throw new ApiError(
      typeof body.message === 'string' ? body.message : `The gateway answered ${res.status}`,
      res.status,
    );
  return { status: res.status, body };
}

export function busPanel(): { el: HTMLElement; stop(): void } {
  const rows = h('tbody', {});
  const summary = h('p', { class: 'state' }, 'checking…');
  const version = h('p', {}, '');
  const load = async (): Promise<void> => {
    const [beat, hello] = await Promise.all([getJson('/__heartbeat__'), getJson('/')]);
    const entries = Object.entries(beat.body);
    rows.replaceChildren(
      ...entries.map(([name, ok]) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, name),
          h('td', { class: ok === true ? 'ok' : 'bad' }, ok === true ? 'up' : 'down'),
        ),
      ),
    );
    summary.textContent =
      beat.status === 200
        ? 'Every dependency answers.'
        : `Not answering: ${entries
            .filter(([, ok]) => ok !== true)
            .map(([n]) => n)
            .join(', ')}`;
    version.textContent = `${String(hello.body.project_name)} ${String(hello.body.project_version)}, API ${String(hello.body.http_api_version)}`;
  };
  const refresh = h('button', { type: 'button' }, 'Check again');
  refresh.addEventListener('click', () => void attempt(refresh, load));
  const el = h(
    'div',
    { class: 'bus' },
    h('h2', {}, 'Bus'),
    version,
    summary,
    h('table', {}, h('caption', {}, 'Dependencies (GET /__heartbeat__)'), rows),
    refresh,
  );
  void attempt(null, load);
  const timer = setInterval(() => void attempt(null, load), 10_000);
  return { el, stop: () => clearInterval(timer) };
}
