/**
 * A subscriber's listing of a topic (lib/store/postgres-broadcast.ts `TopicListing`) against a database
 * that answers when the test says: what it reports as gaps, and that it unlists only after the renewal
 * in flight (which could otherwise list it again after the removal).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PgDatabase } from '../../lib/store/postgres-pool';
import { TopicListing } from '../../lib/store/postgres-broadcast';

/** Statements as they are sent; each answered by `answer(i, rows)`. */
function scriptedDb(): {
  db: Pick<PgDatabase, 'query'>;
  sent: string[];
  answer: (i: number, rows: unknown[]) => void;
} {
  const sent: string[] = [];
  const answers: Array<(rows: unknown[]) => void> = [];
  const query = (sql: string): Promise<never[]> =>
    new Promise((resolve) => {
      sent.push(sql.includes('DELETE') ? 'unlist' : 'list');
      answers.push(resolve as (rows: unknown[]) => void);
    });
  return { db: { query } as Pick<PgDatabase, 'query'>, sent, answer: (i, rows) => answers[i](rows) };
}

/** Let promise chains run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/**
 * A listing made at 0 ms on a scripted database (its first statement answered `kept`), with a lease of
 * 1 s, a margin of 500 ms, no timer of its own (the test renews), the gaps it reported, and its clock.
 */
async function listedAt0(kept: boolean) {
  const { db, sent, answer } = scriptedDb();
  const clock = { now: 0 };
  const listing = new TopicListing(
    db,
    'agora_messages',
    { leaseMs: 1000, renewMs: 3_600_000, marginMs: 500 },
    () => clock.now,
  );
  const gaps: string[] = [];
  const listed = listing.list((reason) => gaps.push(reason));
  answer(0, [{ kept }]);
  await listed;
  return { sent, answer, listing, gaps, clock };
}

test('a listing renews quietly while kept, and reports a gap when it was made anew', async () => {
  const { sent, answer, listing, gaps, clock } = await listedAt0(false);
  clock.now = 100;
  const kept = listing.renew();
  answer(1, [{ kept: true }]);
  await kept;
  assert.deepEqual(gaps, [], 'kept: no gap');
  clock.now = 200;
  const anew = listing.renew();
  answer(2, [{ kept: false }]);
  await anew;
  assert.equal(gaps.length, 1);
  assert.match(gaps[0], /listed anew/);
  assert.deepEqual(sent, ['list', 'list', 'list']);
  const gone = listing.unlist();
  await settle();
  answer(3, []);
  await gone;
});

test('a renewal held up past the lease less the margin reports a lapse once; one started before it counts for nothing', async () => {
  const { sent, answer, listing, gaps, clock } = await listedAt0(true);
  clock.now = 100;
  const stuck = listing.renew(); // sent at 100, answered late
  await settle();
  clock.now = 600;
  await listing.renew(); // 500 ms since the last success: a lapse; the first is still in flight
  assert.equal(gaps.length, 1);
  assert.match(gaps[0], /may have lapsed/);
  assert.deepEqual(sent, ['list', 'list'], 'no second renewal beside the one in flight');
  answer(1, [{ kept: false }]);
  await stuck;
  assert.equal(gaps.length, 1, 'the late answer of a renewal from before the lapse is not reported again');
  clock.now = 700;
  const after = listing.renew();
  answer(2, [{ kept: false }]);
  await after;
  assert.equal(gaps.length, 1, 'the first renewal after the lapse: made anew, already reported');
  clock.now = 800;
  const next = listing.renew();
  answer(3, [{ kept: true }]);
  await next;
  assert.equal(gaps.length, 1);
});

test('unlisting waits for the renewal in flight, then removes the listing', async () => {
  const { db, sent, answer } = scriptedDb();
  const listing = new TopicListing(db, 'agora_messages');
  const listed = listing.list(() => undefined);
  answer(0, [{ kept: false }]);
  await listed;
  const renewal = listing.renew();
  await settle();
  let unlisted = false;
  const gone = listing.unlist().then(() => (unlisted = true));
  await settle();
  assert.deepEqual(sent, ['list', 'list'], 'not removed while the renewal could still list it after');
  assert.equal(unlisted, false);
  answer(1, [{ kept: true }]);
  await renewal;
  await settle();
  assert.deepEqual(sent, ['list', 'list', 'unlist'], 'removed once the renewal is done');
  answer(2, []);
  await gone;
  assert.equal(unlisted, true);
  await listing.renew();
  assert.deepEqual(sent, ['list', 'list', 'unlist'], 'no renewal once unlisted');
});
