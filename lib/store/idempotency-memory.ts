/**
 * Idempotency keys in this process's memory (the embedded default): one gateway sees its own
 * keys only. At most MAX_ENTRIES are held; beyond, the oldest goes first, so that memory stays
 * bounded whatever clients send (docs/ARCHITECTURE.md "Bounded queues").
 */
import { randomUUID } from 'node:crypto';
import type { IdempotencyClaim, IdempotencyStore, IdempotentResponse } from './contracts';

/** Most entries held at once. */
export const MAX_ENTRIES = 100_000;

interface Entry {
  fingerprint: string;
  /** The claim's token while running; undefined once done. */
  token?: string;
  response?: IdempotentResponse;
  expiresAt: number;
}

export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxEntries = MAX_ENTRIES) {}

  /** Checked and claimed with no `await` in between: no other claim can interleave. */
  async claim(
    scope: string,
    key: string,
    fingerprint: string,
    now: number,
    leaseMs: number,
  ): Promise<IdempotencyClaim> {
    const id = JSON.stringify([scope, key]);
    const found = this.entries.get(id);
    if (found !== undefined && found.expiresAt > now) {
      if (found.response !== undefined)
        return { state: 'done', fingerprint: found.fingerprint, response: found.response };
      return { state: 'running', fingerprint: found.fingerprint, retryAfterMs: found.expiresAt - now };
    }
    this.entries.delete(id);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    const token = randomUUID();
    this.entries.set(id, { fingerprint, token, expiresAt: now + leaseMs });
    return { state: 'claimed', token };
  }

  async complete(
    scope: string,
    key: string,
    token: string,
    response: IdempotentResponse,
    now: number,
    ttlMs: number,
  ): Promise<boolean> {
    const found = this.entries.get(JSON.stringify([scope, key]));
    if (found?.token !== token) return false;
    found.token = undefined;
    found.response = { status: response.status, headers: { ...response.headers }, body: response.body };
    found.expiresAt = now + ttlMs;
    return true;
  }

  async release(scope: string, key: string, token: string): Promise<void> {
    const id = JSON.stringify([scope, key]);
    if (this.entries.get(id)?.token === token) this.entries.delete(id);
  }

  async prune(now: number): Promise<number> {
    let removed = 0;
    for (const [id, entry] of this.entries)
      if (entry.expiresAt <= now) {
        this.entries.delete(id);
        removed++;
      }
    return removed;
  }
}
