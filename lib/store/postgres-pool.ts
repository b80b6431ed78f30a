/**
 * The PostgreSQL pool that every PostgreSQL adapter of a process shares: parameterised
 * queries and transactions, each with a deadline (AGORA_STORE_TIMEOUT_MS), the migrations
 * (./migrations.ts), and the rules for failures (./outage.ts; the pool reconnects by itself):
 * - nothing was sent, or the server refused or cancelled the statement (an error with a
 *   SQLSTATE), or a read or an uncommitted transaction lost its connection: the write was not
 *   made, AGORA_ERR_STORE_UNAVAILABLE;
 * - a write, or a transaction's COMMIT, was sent and its connection lost (or its answer not
 *   awaited past the deadline) before the server's answer: PostgreSQL may have committed it,
 *   AGORA_ERR_STORE_OUTCOME_UNKNOWN.
 */
import { DatabaseError, Pool, type PoolClient, type QueryResultRow } from 'pg';
import type { Logger } from '../log';
import { timed, type BackendHealth } from './contracts';
import { migrate } from './migrations';
import { outcomeUnknown, unavailable } from './outage';

export interface PgOptions {
  url: string;
  poolMax: number;
  timeoutMs: number;
  log: Logger;
}

const ignore = (): void => undefined;

/** SQLSTATE classes that are the caller's or our bug, not the database being away. */
const NOT_OUTAGE = /^(22|23|42)/;

/** One pool per process, shared by the stores of that process. */
export class PgDatabase {
  readonly pool: Pool;
  /** Outages are logged again from then on. */
  private quietUntil = 0;

  constructor(readonly options: PgOptions) {
    this.pool = new Pool({
      connectionString: options.url,
      max: options.poolMax,
      connectionTimeoutMillis: options.timeoutMs,
      query_timeout: options.timeoutMs,
      statement_timeout: options.timeoutMs,
    });
    // An idle client losing its connection (the server restarted) must not crash the process;
    // the pool drops it and opens another on the next query.
    this.pool.on('error', (err) => options.log.warn({ err }, 'postgres idle connection lost'));
  }

  /**
   * Run one parameterised statement (committed on its own). With `name`, each connection parses and plans
   * it once, as a prepared statement of that name, and then only binds and runs it: for the statements
   * run at every request. A name stands for one text only.
   */
  async query<R extends QueryResultRow>(sql: string, params: unknown[] = [], name?: string): Promise<R[]> {
    const client = await this.connect();
    let failure: Error | undefined;
    try {
      const result =
        name === undefined
          ? await client.query<R>(sql, params)
          : await client.query<R>({ name, text: sql, values: params });
      return result.rows;
    } catch (e) {
      failure = e as Error;
      throw this.report(storeError('PostgreSQL', e, isWrite(sql)));
    } finally {
      // As pg's own pool.query does: a connection that failed a statement is not reused.
      client.release(failure);
    }
  }

  /** A connection of the pool; failing to get one means nothing was sent. */
  private async connect(): Promise<PoolClient> {
    try {
      const client = await this.pool.connect();
      // A connection lost while checked out is reported to its query; unheard, its 'error' event would end the process.
      if (!client.listeners('error').includes(ignore)) client.on('error', ignore);
      return client;
    } catch (e) {
      throw this.report(storeError('PostgreSQL', e));
    }
  }

  /**
   * Log what the answer no longer says (the driver's error, with the database's address): every
   * write of unknown outcome, and at most one outage a second.
   */
  private report(err: Error): Error {
    const code = (err as { code?: unknown }).code;
    const now = Date.now();
    if (
      code === 'AGORA_ERR_STORE_OUTCOME_UNKNOWN' ||
      (code === 'AGORA_ERR_STORE_UNAVAILABLE' && now >= this.quietUntil)
    ) {
      if (code === 'AGORA_ERR_STORE_UNAVAILABLE') this.quietUntil = now + 1000;
      this.options.log.warn({ code, err: err.cause ?? err }, 'postgres call failed');
    }
    return err;
  }

  /** Run `fn` in one transaction on one connection (committed when it resolves, rolled back when it throws). */
  async transaction<T>(
    fn: (query: <R extends QueryResultRow>(sql: string, params?: unknown[]) => Promise<R[]>) => Promise<T>,
  ): Promise<T> {
    const client = await this.connect();
    const query = async <R extends QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> => {
      try {
        return (await client.query<R>(sql, params)).rows;
      } catch (e) {
        throw this.report(storeError('PostgreSQL', e));
      }
    };
    let broken = false;
    try {
      await query('BEGIN');
      const out = await fn(query);
      try {
        await client.query('COMMIT');
      } catch (e) {
        broken = true;
        throw this.report(storeError('PostgreSQL', e, true));
      }
      return out;
    } catch (e) {
      if (!broken) await client.query('ROLLBACK').catch(() => (broken = true));
      throw e;
    } finally {
      // A connection that could not even roll back is dropped, not reused.
      client.release(broken);
    }
  }

  /** Apply the migrations not yet applied (safe when several processes start at once). */
  async migrate(): Promise<number[]> {
    const client = await this.connect();
    try {
      return await migrate(client);
    } finally {
      client.release();
    }
  }

  async ping(): Promise<BackendHealth> {
    return timed('postgres', () => this.query('SELECT 1'));
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/**
 * An outage becomes AGORA_ERR_STORE_UNAVAILABLE, or AGORA_ERR_STORE_OUTCOME_UNKNOWN when
 * `sentWrite` (a write was sent) and the server did not answer it; a bug stays what it is
 * (a 500 at the edge).
 */
export function storeError(backend: string, e: unknown, sentWrite = false): Error {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && NOT_OUTAGE.test(code)) return e as Error;
  // An error the server sent (it has a SQLSTATE) ends its statement and transaction: nothing was applied.
  if (sentWrite && !(e instanceof DatabaseError)) return outcomeUnknown(backend, e);
  return unavailable(backend, e);
}

/** Whether a statement may change data: anything but a plain SELECT. */
export function isWrite(sql: string): boolean {
  return !/^\s*SELECT\b/i.test(sql) || /\b(INSERT|DELETE)\b|\bUPDATE\s+\w+\s+SET\b/i.test(sql);
}
