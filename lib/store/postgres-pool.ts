/**
 * The PostgreSQL pool that every PostgreSQL adapter of a process shares: parameterised
 * queries and transactions, each with a deadline (AGORA_STORE_TIMEOUT_MS), the migrations
 * (./migrations.ts), and the rule that turns a lost or refused connection into
 * AGORA_ERR_STORE_UNAVAILABLE (the pool reconnects by itself).
 */
import { Pool, type PoolClient, type QueryResultRow } from 'pg';
import { AgoraError, errorMessage } from '../errors';
import type { Logger } from '../log';
import { timed, type BackendHealth } from './contracts';
import { migrate } from './migrations';

export interface PgOptions {
  url: string;
  poolMax: number;
  timeoutMs: number;
  log: Logger;
}

/** SQLSTATE classes that are the caller's or our bug, not the database being away. */
const NOT_OUTAGE = /^(22|23|42)/;

/** One pool per process, shared by the stores of that process. */
export class PgDatabase {
  readonly pool: Pool;

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

  /** Run one parameterised statement. */
  async query<R extends QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (e) {
      throw storeError('PostgreSQL', e);
    }
  }

  /** Run `fn` in one transaction on one connection (committed when it resolves, rolled back when it throws). */
  async transaction<T>(
    fn: (query: <R extends QueryResultRow>(sql: string, params?: unknown[]) => Promise<R[]>) => Promise<T>,
  ): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw storeError('PostgreSQL', e);
    }
    const query = async <R extends QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> => {
      try {
        return (await client.query<R>(sql, params)).rows;
      } catch (e) {
        throw storeError('PostgreSQL', e);
      }
    };
    let broken = false;
    try {
      await query('BEGIN');
      const out = await fn(query);
      await query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw e;
    } finally {
      // A connection that could not even roll back is dropped, not reused.
      client.release(broken);
    }
  }

  /** Apply the migrations not yet applied (safe when several processes start at once). */
  async migrate(): Promise<number[]> {
    let client;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw storeError('PostgreSQL', e);
    }
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

/** An outage becomes AGORA_ERR_STORE_UNAVAILABLE; a bug stays what it is (a 500 at the edge). */
export function storeError(backend: string, e: unknown): Error {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && NOT_OUTAGE.test(code)) return e as Error;
  return new AgoraError('AGORA_ERR_STORE_UNAVAILABLE', [backend, errorMessage(e)], { cause: e });
}
