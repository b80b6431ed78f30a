/**
 * `agora routes` and `agora nodes` (README.md "The agora command"): the caller's routes or nodes
 * through the gateway's /v1 API (docs/ROUTING.md, docs/COMPUTE.md), listed or one shown (its
 * record: the `data` of the gateway's `{data, permissions}`).
 */
import { AgoraError } from '../lib/errors';
import type { Output } from './cli-bus';
import { EXIT, exitCodeFor, paint, reportError } from './cli-format';

export interface HttpOptions {
  url: string;
  key: string | undefined;
  json: boolean;
  timeout: number;
}

/** The columns of each list, in order (the first is the id `show` takes). */
const COLUMNS: Record<'routes' | 'nodes', string[]> = {
  routes: ['source', 'mode', 'target_node', 'target_url', 'updated_at'],
  nodes: ['id', 'name', 'status', 'image', 'size', 'url'],
};

/** A list as a table of `columns`; absent values show as `-`. */
export function listTable(
  items: readonly Record<string, unknown>[],
  columns: readonly string[],
  color: boolean,
): string {
  const c = paint(color);
  const cell = (v: unknown): string =>
    v === undefined || v === null ? '-' : typeof v === 'string' ? v : JSON.stringify(v);
  const rows = items.map((item) => columns.map((col) => cell(item[col])));
  const widths = columns.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells
      .map((x, i) => x.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [c(1, line(columns.map((h) => h.toUpperCase()))), ...rows.map(line)].join('\n') + '\n';
}

/** `agora routes|nodes [ID]`. */
export async function httpListCommand(
  what: 'routes' | 'nodes',
  id: string | undefined,
  o: HttpOptions,
  io: Output,
): Promise<number> {
  if (o.key === undefined) {
    io.err.write('agora: a session is needed: --key KEY or AGORA_SESSION (POST /v1/sessions gives one)\n');
    return EXIT.USAGE;
  }
  const url = new URL(`/v1/${what}${id === undefined ? '' : `/${encodeURIComponent(id)}`}`, o.url);
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { authorization: `Bearer ${o.key}` },
      signal: AbortSignal.timeout(o.timeout),
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const e = new AgoraError('AGORA_ERR_BUS_DISCONNECTED', [], { message: `Cannot reach ${o.url}: ${reason}` });
    return reportError(e, io.err);
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    io.err.write(`${JSON.stringify(body, null, 2)}\n`);
    return exitCodeFor(Object.assign(new AgoraError('AGORA_ERR_INTERNAL'), { status: res.status }));
  }
  // One record is shown as its data (`{data, permissions}` carries it); a list as the table or, with --json, whole.
  if (id !== undefined) io.out.write(`${JSON.stringify(body.data ?? body, null, 2)}\n`);
  else if (o.json) io.out.write(`${JSON.stringify(body, null, 2)}\n`);
  else io.out.write(listTable((body.data ?? []) as Record<string, unknown>[], COLUMNS[what], io.color));
  return EXIT.OK;
}
