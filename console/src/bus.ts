/**
 * The bus panel: what `agora status` shows — each service's workers, slots in use, queue, calls per
 * second and latency (GET /v1/bus), refreshed every 2 s — and what GET /__heartbeat__ reports of
 * every dependency of the gateway (the broker, each bus service the routes call, the storage
 * backends), with the hello's version.
 */
import { api, ApiError, type Json } from './api.js';
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

interface ServiceStatus {
  name: string;
  workers: number;
  slots: number;
  busy: number;
  queued: number;
  calls: number;
  errors: number;
  rate: number;
  p50: number | null;
  p99: number | null;
}

const ms = (v: number | null): string => (v === null ? '—' : `≤ ${v} ms`);

/** One row per service, as `agora status` prints them. */
function serviceRows(services: ServiceStatus[]): HTMLTableRowElement[] {
  return services.map((s) =>
    h(
      'tr',
      {},
      h('th', { scope: 'row' }, s.name),
      h('td', {}, String(s.workers)),
      h('td', {}, `${s.busy} / ${s.slots}`),
      h('td', {}, String(s.queued)),
      h('td', {}, s.rate.toFixed(1)),
      h('td', {}, ms(s.p50)),
      h('td', {}, ms(s.p99)),
      h('td', { class: s.errors > 0 ? 'bad' : '' }, `${s.errors} / ${s.calls}`),
    ),
  );
}

function servicesTable(): { table: HTMLTableElement; load: () => Promise<void> } {
  const body = h('tbody', {});
  const head = h(
    'tr',
    {},
    ...['Service', 'Workers', 'Slots in use', 'Queued', 'Calls/s', 'p50', 'p99', 'Errors / calls'].map((t) =>
      h('th', { scope: 'col' }, t),
    ),
  );
  const table = h('table', {}, h('caption', {}, 'Services (GET /v1/bus)'), h('thead', {}, head), body);
  const load = async (): Promise<void> => {
    const answer = await api('GET', '/v1/bus');
    const data = (answer?.data ?? {}) as { services?: ServiceStatus[] };
    body.replaceChildren(...serviceRows(data.services ?? []));
  };
  return { table, load };
}

export function busPanel(): { el: HTMLElement; stop(): void } {
  const services = servicesTable();
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
  refresh.addEventListener(
    'click',
    () => void attempt(refresh, () => Promise.all([load(), services.load()]).then(() => undefined)),
  );
  const el = h(
    'div',
    { class: 'bus' },
    h('h2', {}, 'Bus'),
    version,
    summary,
    services.table,
    h('table', {}, h('caption', {}, 'Dependencies (GET /__heartbeat__)'), rows),
    refresh,
  );
  void attempt(null, load);
  void attempt(null, services.load);
  const timer = setInterval(() => void attempt(null, load), 10_000);
  // The counters move with every call: refreshed live, as `agora status --watch` does.
  const live = setInterval(() => void attempt(null, services.load), 2_000);
  return {
    el,
    stop: () => {
      clearInterval(timer);
      clearInterval(live);
    },
  };
}
