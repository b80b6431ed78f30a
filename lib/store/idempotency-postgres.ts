/**
 * Idempotency keys in PostgreSQL (table agora_idempotency, migration 10), shared by every
 * gateway on the database. A claim is one INSERT … ON CONFLICT that takes over only an expired
 * entry, so of concurrent claims in any number of processes exactly one inserts or takes over;
 * the others read the entry that won. Completing and releasing name the claim's token.
 */
import { randomUUID } from 'node:crypto';
import type { IdempotencyClaim, IdempotencyStore, IdempotentResponse } from './contracts';
import type { PgDatabase } from './postgres-pool';

/** Claims tried when the entry that refused one is gone (expired or released) before it is read. */
const ATTEMPTS = 5;

const CLAIM = `
  INSERT INTO agora_idempotency AS i (scope, key, fingerprint, token, expires_at)
    VALUES ($1, $2, $3, $4, $5::bigint + $6::bigint)
  ON CONFLICT (scope, key) DO UPDATE
    SET fingerprint = excluded.fingerprint, token = excluded.token, expires_at = excluded.expires_at,
        status = NULL, headers = NULL, body = NULL
    WHERE i.expires_at <= $5::bigint
  RETURNING i.token`;

interface Row {
  fingerprint: string;
  token: string | null;
  expires_at: string;
  status: number | null;
  headers: Record<string, string> | null;
  body: Buffer | null;
}

export class PgIdempotencyStore implements IdempotencyStore {
  constructor(private readonly db: PgDatabase) {}

  async claim(
    scope: string,
    key: string,
    fingerprint: string,
    now: number,
    leaseMs: number,
  ): Promise<IdempotencyClaim> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const token = randomUUID();
      const won = await this.db.query<{ token: string }>(CLAIM, [scope, key, fingerprint, token, now, leaseMs]);
      if (won.length === 1) return { state: 'claimed', token };
      const [found] = await this.db.query<Row>(
        `SELECT fingerprint, token, expires_at, status, headers, body FROM agora_idempotency
          WHERE scope = $1 AND key = $2 AND expires_at > $3`,
        [scope, key, now],
      );
      if (found === undefined) continue;
      if (found.token === null && found.status !== null)
        return {
          state: 'done',
          fingerprint: found.fingerprint,
          response: {
            status: found.status,
            headers: found.headers ?? {},
            body: (found.body ?? Buffer.alloc(0)).toString('utf8'),
          },
        };
      return { state: 'running', fingerprint: found.fingerprint, retryAfterMs: Number(found.expires_at) - now };
    }
    throw new Error(`idempotency key claimed and freed ${ATTEMPTS} times in a row: ${JSON.stringify([scope, key])}`);
  }

  async complete(
    scope: string,
    key: string,
    token: string,
    response: IdempotentResponse,
    now: number,
    ttlMs: number,
  ): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE agora_idempotency SET token = NULL, status = $4, headers = $5, body = $6, expires_at = $7::bigint + $8::bigint
        WHERE scope = $1 AND key = $2 AND token = $3 RETURNING 1 AS ok`,
      [
        scope,
        key,
        token,
        response.status,
        JSON.stringify(response.headers),
        Buffer.from(response.body, 'utf8'),
        now,
        ttlMs,
      ],
    );
    return rows.length === 1;
  }

  async release(scope: string, key: string, token: string): Promise<void> {
    await this.db.query('DELETE FROM agora_idempotency WHERE scope = $1 AND key = $2 AND token = $3', [
      scope,
      key,
      token,
    ]);
  }

  async prune(now: number): Promise<number> {
    const [row] = await this.db.query<{ n: number }>(
      'WITH gone AS (DELETE FROM agora_idempotency WHERE expires_at <= $1 RETURNING 1) SELECT count(*)::int AS n FROM gone',
      [now],
    );
    return row.n;
  }
}
