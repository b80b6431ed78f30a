/**
 * Health checks, as the `/__heartbeat__` endpoint reports them (docs/API-V1.md; Kinto's
 * `kinto/core/views/heartbeat.py`): a registry of named checks, run together, each with
 * the same deadline. A check answers whether its dependency works: it resolves true (or
 * nothing), and anything else — false, a rejection, no answer by the deadline — is a
 * failure. Storage backends register theirs (`checks.add('postgres', () => pool.query(…))`)
 * in the process that holds them; services expose their checks on the bus (HEALTH_METHOD).
 */
import { errorMessage } from './errors';

/**
 * The bus method every TypeScript service answers with its checks (`{name: bool}`), like
 * the gateway's `/__heartbeat__` (docs/PROTOCOL.md §13). A worker that does not know it
 * answers AGORA_ERR_RPC_NO_METHOD, which still proves it serves calls.
 */
export const HEALTH_METHOD = '__heartbeat__';

/** Each check's name and whether it passed. */
export type HealthReport = Record<string, boolean>;

/**
 * One check: resolve true (or nothing) when the dependency works. `deadline` is ms since
 * the epoch. A check of something that has checks of its own (a service) may answer their
 * report: it is listed under `<name>.<check>`, and `<name>` passes when all of them do.
 */
export type HealthCheck = (deadline: number) => Promise<boolean | void | HealthReport> | boolean | void | HealthReport;

/** Where failed checks are reported (a pino or Fastify logger). */
export interface HealthLog {
  warn(obj: object, msg: string): void;
}

/** A named set of checks. */
export class HealthChecks {
  private readonly checks = new Map<string, HealthCheck>();

  /** Register `check` under `name` (a second registration of a name replaces the first). */
  add(name: string, check: HealthCheck): this {
    this.checks.set(name, check);
    return this;
  }

  get names(): string[] {
    return [...this.checks.keys()];
  }

  get(name: string): HealthCheck | undefined {
    return this.checks.get(name);
  }

  /** Run every check at once; each that fails or has not answered by `deadline` is false. */
  async run(deadline: number, log?: HealthLog): Promise<HealthReport> {
    const reports = await Promise.all([...this.checks].map(([name, check]) => runOne(name, check, deadline, log)));
    return Object.assign({}, ...reports) as HealthReport;
  }
}

/** Whether every check of a report passed. */
export function healthy(report: HealthReport): boolean {
  return Object.values(report).every((ok) => ok);
}

/** One check's entries: `{name: ok}`, preceded by `{name.sub: ok}` for a nested report. */
async function runOne(name: string, check: HealthCheck, deadline: number, log?: HealthLog): Promise<HealthReport> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now()));
  });
  try {
    const answer = await Promise.race([Promise.resolve().then(() => check(deadline)), late]);
    if (answer === 'late') log?.warn({ check: name }, 'health check passed its deadline');
    else if (answer === false) log?.warn({ check: name }, 'health check failed');
    if (answer === null || typeof answer !== 'object') return { [name]: answer !== 'late' && answer !== false };
    const nested: HealthReport = {};
    for (const [sub, ok] of Object.entries(answer)) nested[`${name}.${sub}`] = ok === true;
    return { ...nested, [name]: healthy(nested) };
  } catch (e) {
    log?.warn({ check: name, detail: errorMessage(e) }, 'health check failed');
    return { [name]: false };
  } finally {
    clearTimeout(timer);
  }
}
