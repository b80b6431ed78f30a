/**
 * One contract suite for every storage adapter (lib/store/contracts.ts), run against memory,
 * a throwaway PostgreSQL and a throwaway Redis. Then what only the shared backends must
 * do: two "instances" (two pools) posting to one channel at once stay gap-free, migrations
 * started by several processes at once apply once, and an outage is AGORA_ERR_STORE_UNAVAILABLE
 * that heals when the server comes back.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { Pool } from 'pg';
import { defaultConfig, type Config } from '../../lib/config';
import { isAgoraError } from '../../lib/errors';
import { createLogger } from '../../lib/log';
import { openStores, resolve, type AllStores, type OpenStores } from '../../lib/store/index';
import { migrate, MIGRATIONS, NODE_SHARING_MIGRATION } from '../../lib/store/migrations';
import { MemoryRouteStore } from '../../lib/store/routes-memory';
import { MemoryChannelStore, MemoryNodeStore } from '../../lib/store/store-memory';
import { PgBroadcast } from '../../lib/store/postgres-broadcast';
import { PgDatabase } from '../../lib/store/postgres-pool';
import { RedisBroadcast, RedisConnection } from '../../lib/store/store-redis';
import { EVERYONE, ownerOnly, principalsOf, publicChannel, type Permissions } from '../../lib/permissions';
import {
  newNode,
  viewVersion,
  type Appended,
  type AppendKey,
  type Broadcast,
  type NodeRecord,
  type StoredMessage,
} from '../../lib/store/contracts';
import { startPostgres, startRedis, until, type Postgres } from '../helpers/backends';
import { entry, freePort } from '../helpers/proc';

/** The id of the message an append answered. */
const idOf = async (p: Promise<Appended>): Promise<number> => (await p).messageid;
/** The id of the message a conditional append answered, undefined when it was refused. */
const idIf = async (p: Promise<Appended | undefined>): Promise<number | undefined> => (await p)?.messageid;

const log = createLogger('test', 'silent');
type Opened = OpenStores & Pick<AllStores, (typeof KINDS)[number]>;

/** Every contract check, against one set of stores. */
async function contract(t: TestContext, open: () => Promise<Opened>): Promise<void> {
  const s = await open();
  t.after(() => s.close());
  for (const [name, check] of CONTRACT) await t.test(name, () => check(s));
}

async function checkUsers(s: Opened): Promise<void> {
  assert.equal(await s.users.get('ann'), undefined);
  const ann = { username: 'ann', hash: 'h1', salt: 's1', createdAt: 1_700_000_000_000 };
  assert.deepEqual(await s.users.create(ann), { user: ann, created: true });
  assert.deepEqual(await s.users.create({ ...ann, hash: 'h2' }), { user: ann, created: false });
  assert.deepEqual(await s.users.get('ann'), ann);
  assert.equal(await s.users.get('Ann'), undefined, 'names are case-sensitive');
  const racers = await Promise.all(
    Array.from({ length: 8 }, (_, i) => s.users.create({ username: 'bo', hash: `h${i}`, salt: 's', createdAt: i })),
  );
  assert.equal(racers.filter((r) => r.created).length, 1);
  assert.equal(new Set(racers.map((r) => r.user.hash)).size, 1, 'everyone answers the stored record');
}

async function checkSessions(s: Opened): Promise<void> {
  const key = Number.MAX_SAFE_INTEGER;
  const version = await s.sessions.create({ sesskey: key, username: 'ann', lastUsed: 1000 });
  assert.ok(version !== undefined && Number.isSafeInteger(version) && version > 0, `a version: ${version}`);
  assert.equal(await s.sessions.create({ sesskey: key, username: 'bo', lastUsed: 1000 }), undefined);
  assert.deepEqual(await s.sessions.get(key), { sesskey: key, username: 'ann', lastUsed: 1000, version });
  assert.deepEqual(
    await s.sessions.touch([key], 5000, 60_000),
    [{ sesskey: key, username: 'ann', lastUsed: 1000, version }],
    'a touch answers the session as found',
  );
  assert.deepEqual(await s.sessions.touch([key], 3000, 60_000), [
    { sesskey: key, username: 'ann', lastUsed: 5000, version },
  ]);
  assert.deepEqual(await s.sessions.touch([12345], 3000, 60_000), [], 'absent: nothing happens');
  assert.deepEqual(await s.sessions.touch([], 3000, 60_000), []);
  assert.deepEqual(
    await s.sessions.get(key),
    { sesskey: key, username: 'ann', lastUsed: 5000, version },
    'use changes no version',
  );
  assert.deepEqual(
    await s.sessions.touch([key], 9000, 4000),
    [{ sesskey: key, username: 'ann', lastUsed: 5000, version }],
    'idle 4000 ms by then: found',
  );
  assert.equal((await s.sessions.get(key))?.lastUsed, 5000, 'an idle session is left as it is, for the caller to end');
  // Several keys in one call: each used or left by its own idle time; the absent one not answered.
  const vc = (await s.sessions.create({ sesskey: 601, username: 'cy', lastUsed: 8000 }))!;
  const vd = (await s.sessions.create({ sesskey: 602, username: 'di', lastUsed: 1000 }))!;
  const many = await s.sessions.touch([601, 12345, 602], 9000, 4000);
  assert.deepEqual(
    many.sort((a, b) => a.sesskey - b.sesskey),
    [
      { sesskey: 601, username: 'cy', lastUsed: 8000, version: vc },
      { sesskey: 602, username: 'di', lastUsed: 1000, version: vd },
    ],
  );
  assert.equal((await s.sessions.get(601))?.lastUsed, 9000, 'used');
  assert.equal((await s.sessions.get(602))?.lastUsed, 1000, 'idle: left');
  assert.equal(await s.sessions.delete(601), true);
  assert.equal(await s.sessions.delete(602), true);
  assert.equal(await s.sessions.get(12345), undefined);
  await s.sessions.create({ sesskey: 1, username: 'old', lastUsed: 100 });
  await s.sessions.create({ sesskey: 2, username: 'old', lastUsed: 4999 });
  assert.deepEqual(
    (await s.sessions.expire(5000)).sort((a, b) => a - b),
    [1, 2],
  );
  assert.deepEqual(await s.sessions.expire(5000), [], 'an expired session is gone');
  assert.equal((await s.sessions.get(key))?.username, 'ann', 'lastUsed == before stays');
  assert.equal(await s.sessions.delete(key), true);
  assert.equal(await s.sessions.delete(key), false);
  assert.equal(await s.sessions.get(key), undefined);
}

async function checkSessionVersions(s: Opened): Promise<void> {
  const v1 = (await s.sessions.create({ sesskey: 501, username: 'ann', lastUsed: Date.now() }))!;
  const v2 = (await s.sessions.create({ sesskey: 502, username: 'ann', lastUsed: Date.now() }))!;
  assert.notEqual(v1, v2, 'two sessions, two versions');
  assert.deepEqual(
    await s.sessions.deleteIfVersion(501, v2),
    { done: false, version: v1 },
    'another version: kept, the one found answered',
  );
  assert.equal((await s.sessions.get(501))?.version, v1);
  assert.deepEqual(
    await s.sessions.deleteIfVersion(999_001, v1),
    { done: false, version: undefined },
    'no such session',
  );
  const racers = await Promise.all(Array.from({ length: 12 }, () => s.sessions.deleteIfVersion(501, v1)));
  assert.equal(racers.filter((r) => r.done).length, 1, 'exactly one racer deleted');
  for (const r of racers.filter((x) => !x.done)) assert.equal(r.version, undefined, 'the others found it gone');
  assert.equal(await s.sessions.get(501), undefined);
  assert.equal((await s.sessions.expire(Date.now() + 60_000)).includes(501), false, 'gone from the expiry index too');
  const v3 = (await s.sessions.create({ sesskey: 501, username: 'bo', lastUsed: Date.now() }))!;
  assert.ok(v3 !== v1 && v3 !== v2, 'a key used again gets a new version');
  await s.sessions.delete(501);
  await s.sessions.delete(502);
}

/** Timestamps as the stores stamp them: strictly increasing, none before `from` nor after now. */
function assertStamps(stamps: readonly number[], from: number, what: string): void {
  for (const [i, ts] of stamps.entries()) {
    assert.ok(Number.isSafeInteger(ts) && ts >= from, `${what}: ${ts} is a timestamp from ${from} on`);
    if (i > 0) assert.ok(ts > stamps[i - 1], `${what}: strictly increasing, ${stamps.join(', ')}`);
  }
  // Ahead of the clock only by the writes of one millisecond.
  assert.ok(stamps.length === 0 || stamps[stamps.length - 1] <= Date.now() + 1000, `${what}: not ahead`);
}

async function checkChannels(s: Opened): Promise<void> {
  assert.deepEqual(await s.channels.list(), { names: [], channels: [], version: 0 });
  assert.equal(await s.channels.get('general'), undefined);
  const t0 = Date.now() - 1000; // the database's clock may lag this one a little
  const stamps: number[] = [];
  for (const name of ['general', 'Zeta', '_x', '-a', 'a.b']) {
    const made = await s.channels.create(name, 'ann');
    assert.deepEqual(made, { created: true, stale: false, version: made.version, lastModified: made.version });
    stamps.push(made.version);
  }
  assertStamps(stamps, t0, 'five creates, within one millisecond or not');
  assert.deepEqual(
    await s.channels.create('general', 'bo'),
    { created: false, stale: false, version: stamps[4], lastModified: stamps[0] },
    'an existing one changes nothing',
  );
  const at = new Map(['general', 'Zeta', '_x', '-a', 'a.b'].map((name, i) => [name, stamps[i]]));
  const names = ['-a', 'Zeta', '_x', 'a.b', 'general'];
  assert.deepEqual(await s.channels.list(), {
    names,
    channels: names.map((name) => ({ name, lastModified: at.get(name) })),
    version: stamps[4],
  });
  assert.deepEqual(await s.channels.get('Zeta'), {
    name: 'Zeta',
    createdBy: 'ann',
    permissions: publicChannel('ann'),
    lastModified: at.get('Zeta'),
  });
  assert.equal(await s.channels.exists('general'), true);
  assert.equal(await s.channels.exists('General'), false);
}

async function checkChannelVersions(s: Opened): Promise<void> {
  const { version } = await s.channels.list();
  assert.deepEqual(
    await s.channels.create('late', 'ann', version - 1),
    { created: false, stale: true, version, lastModified: undefined },
    'an old version: refused',
  );
  assert.equal(await s.channels.exists('late'), false);
  const racers = await Promise.all(
    Array.from({ length: 12 }, (_, i) => s.channels.create(`racer-${i}`, 'bo', version)),
  );
  const won = racers.filter((r) => r.created);
  assert.equal(won.length, 1, 'exactly one racer created');
  const next = won[0].version;
  assert.ok(next > version, 'the create moved the version on');
  assert.deepEqual(won[0], { created: true, stale: false, version: next, lastModified: next });
  for (const r of racers.filter((x) => !x.created))
    assert.deepEqual(r, { created: false, stale: true, version: next, lastModified: undefined });
  const after = await s.channels.list();
  assert.equal(after.version, next);
  assert.equal(after.names.filter((n) => n.startsWith('racer-')).length, 1);
  const general = (await s.channels.get('general'))!.lastModified;
  assert.deepEqual(
    await s.channels.create('general', 'bo', next),
    { created: false, stale: false, version: next, lastModified: general },
    'at the version, existing: nothing to do',
  );
}

async function checkChannelPermissions(s: Opened): Promise<void> {
  const t0 = Date.now() - 1000; // the database's clock may lag this one a little
  assert.equal((await s.channels.create('p-public', 'ann')).created, true);
  const secret: Permissions = { read: [], write: ['account:ann'] };
  const shared: Permissions = { read: ['account:bo'], write: ['account:ann'] };
  const made = await s.channels.create('p-secret', 'ann', undefined, secret);
  assert.equal(made.created, true);
  const atVersion = await s.channels.create('p-shared', 'ann', made.version, shared);
  assert.equal(atVersion.created, true, 'at a version too');
  const { version } = atVersion;
  const publicOne = await s.channels.get('p-public');
  assert.deepEqual(publicOne, {
    name: 'p-public',
    createdBy: 'ann',
    permissions: publicChannel('ann'),
    lastModified: publicOne?.lastModified,
  });
  assert.deepEqual(await s.channels.get('p-secret'), {
    name: 'p-secret',
    createdBy: 'ann',
    permissions: secret,
    lastModified: made.version,
  });
  assert.equal(await s.channels.get('p-none'), undefined);
  const ours = async (principals: string[]) =>
    (await s.channels.list(principals)).names.filter((n) => n.startsWith('p-'));
  assert.deepEqual(await ours(principalsOf('ann')), ['p-public', 'p-secret', 'p-shared'], 'a writer reads');
  assert.deepEqual(await ours(principalsOf('bo')), ['p-public', 'p-shared']);
  assert.deepEqual(await ours(principalsOf('cy')), ['p-public']);
  assert.deepEqual(await ours([EVERYONE]), [], 'public is for signed-in users');
  assert.equal((await s.channels.list(principalsOf('cy'))).version, version, "the version is the whole list's");
  assert.equal((await s.channels.list([])).names.length, 0, 'no principal, nothing');
  const opened: Permissions = { read: [EVERYONE], write: ['account:ann'] };
  const stamped = await s.channels.setPermissions('p-secret', opened);
  assert.ok(stamped !== undefined && stamped > version, 'a change of permissions is a write: stamped after the list');
  assertStamps([made.version, version, stamped], t0, 'creates and a change of permissions');
  assert.deepEqual(await s.channels.get('p-secret'), {
    name: 'p-secret',
    createdBy: 'ann',
    permissions: opened,
    lastModified: stamped,
  });
  const list = await s.channels.list([EVERYONE]);
  assert.deepEqual(list.channels, [{ name: 'p-secret', lastModified: stamped }]);
  assert.equal(await s.channels.setPermissions('p-none', opened), undefined, 'no such channel');
  assert.equal(await s.channels.exists('p-none'), false, 'nor made by it');
  assert.equal((await s.channels.list()).version, stamped, 'the list is at the stamp of the change, not after');
}

async function checkChannelPermissionVersions(s: Opened): Promise<void> {
  const made = await s.channels.create('pv-team', 'ann', undefined, { read: [], write: ['account:ann'] });
  const at = made.lastModified!;
  const shared = (who: string): Permissions => ({ read: [`account:${who}`], write: ['account:ann'] });
  assert.deepEqual(await s.channels.setPermissionsIfVersion('pv-team', shared('bo'), at - 1), {
    done: false,
    version: at,
  });
  assert.deepEqual((await s.channels.get('pv-team'))?.permissions.read, [], 'refused: nothing written');
  const racers = await Promise.all(
    Array.from({ length: 12 }, (_, i) => s.channels.setPermissionsIfVersion('pv-team', shared(`u${i}`), at)),
  );
  const won = racers.filter((r) => r.done);
  assert.equal(won.length, 1, 'one writer at one version');
  const found = await s.channels.get('pv-team');
  assert.equal(found?.lastModified, won[0].version);
  assert.ok(won[0].version > at, 'stamped after');
  for (const r of racers) if (!r.done) assert.equal(r.version, won[0].version, 'each refused one names the current');
  assert.equal(found?.permissions.read.length, 1);
  assert.equal((await s.channels.list()).version, won[0].version, 'the list is at the stamp of the change');
  assert.deepEqual(await s.channels.setPermissionsIfVersion('pv-none', shared('bo'), at), {
    done: false,
    version: undefined,
  });
}

async function checkMessages(s: Opened): Promise<void> {
  assert.equal(await idOf(s.messages.last('c1')), 0);
  assert.deepEqual(await s.messages.range('c1', 1, 10), []);
  const texts = ['hello', 'nul \u0000 inside', '😀 é 中文', ' spaces ', 'x'.repeat(4096)];
  for (const [i, text] of texts.entries()) assert.equal(await idOf(s.messages.append('c1', 'ann', text, 3)), i + 1);
  assert.equal(await idOf(s.messages.last('c1')), 5);
  // Their stamps (lastModified) are checkMessageStamps' concern.
  assert.deepEqual(
    unstamped(await s.messages.range('c1', 1, 100)),
    texts.slice(2).map((message, i) => ({ messageid: i + 3, username: 'ann', message })),
  );
  assert.deepEqual(unstamped(await s.messages.range('c1', 4, 4)), [
    { messageid: 4, username: 'ann', message: ' spaces ' },
  ]);
  assert.deepEqual(await s.messages.range('c1', 5, 4), []);
  assert.equal(await idOf(s.messages.last('c2')), 0, 'channels are independent');
  // Growing the retention cannot bring back what fell out; shrinking drops the oldest.
  assert.equal(await idOf(s.messages.append('c1', 'bo', 'six', 5)), 6);
  assert.deepEqual(
    (await s.messages.range('c1', 1, 100)).map((m) => m.messageid),
    [3, 4, 5, 6],
  );
  assert.equal(await idOf(s.messages.append('c1', 'bo', 'seven', 2)), 7);
  assert.deepEqual(
    (await s.messages.range('c1', 1, 100)).map((m) => m.messageid),
    [6, 7],
  );
  await assert.rejects(idOf(s.messages.append('c1', 'bo', 'bad', 0)), RangeError);
}

/** Stored messages without their stamps. */
function unstamped(messages: StoredMessage[]): Array<Omit<StoredMessage, 'lastModified'>> {
  return messages.map(({ lastModified: _, ...m }) => m);
}

/** Every message's lastModified is a safe integer, greater than the one before it in the list (one channel's). */
function assertStampsIncrease(messages: StoredMessage[], what: string): void {
  for (const [i, m] of messages.entries()) {
    assert.ok(Number.isSafeInteger(m.lastModified), `${what}: message ${m.messageid} stamped ${m.lastModified}`);
    if (i > 0)
      assert.ok(
        m.lastModified > messages[i - 1].lastModified,
        `${what}: message ${m.messageid} at ${m.lastModified}, after ${messages[i - 1].lastModified}`,
      );
  }
}

async function checkMessageStamps(s: Opened): Promise<void> {
  const t0 = Date.now();
  // Many appends within a few ms: max(now, the last + 1) keeps them apart, whatever the kind of append.
  const ids = await Promise.all(
    Array.from({ length: 40 }, (_, i) => idOf(s.messages.append('stamped', 'ann', `m${i}`, 100))),
  );
  // Kept longer than checkAppendKeys prunes up to.
  const key = { key: 'k', now: t0, ttlMs: 3_600_000 };
  assert.equal(await idIf(s.messages.appendIf('stamped', 'bo', 'at 40', 100, { lastId: 40 })), 41);
  assert.equal(await idOf(s.messages.append('stamped', 'bo', 'keyed', 100, key)), 42);
  await Promise.all(Array.from({ length: 10 }, (_, i) => idOf(s.messages.append('stamped-other', 'cy', `o${i}`, 100))));
  const t1 = Date.now();
  assert.equal(ids.length, 40);
  const stored = await s.messages.range('stamped', 1, 100);
  assert.equal(stored.length, 42);
  assertStampsIncrease(stored, 'one channel');
  // One machine's clock, the database's or ours: the first within a second of the appends, none far beyond.
  assert.ok(stored[0].lastModified >= t0 - 1000, `${stored[0].lastModified} not before ${t0}`);
  assert.ok(stored[41].lastModified <= t1 + 1000 + 42, `${stored[41].lastModified} not after ${t1}`);
  assertStampsIncrease(await s.messages.range('stamped-other', 1, 100), 'another channel');
  // A replayed key and a refused condition store nothing and stamp nothing.
  assert.equal(await idOf(s.messages.append('stamped', 'bo', 'keyed', 100, key)), 42);
  assert.equal(await idIf(s.messages.appendIf('stamped', 'bo', 'stale', 100, { lastId: 40 })), undefined);
  assert.deepEqual(await s.messages.range('stamped', 1, 100), stored, 'the same messages, the same stamps');
  // Retention drops the oldest; what follows is stamped after what is kept.
  assert.equal(await idOf(s.messages.append('stamped', 'ann', 'last', 5)), 43);
  const kept = await s.messages.range('stamped', 1, 100);
  assert.deepEqual(
    kept.map((m) => m.messageid),
    [39, 40, 41, 42, 43],
  );
  assert.deepEqual(kept.slice(0, 4), stored.slice(38), 'kept as they were');
  assertStampsIncrease(kept, 'after retention');
}

async function checkConcurrentAppends(s: Opened): Promise<void> {
  const ids = await Promise.all(
    Array.from({ length: 60 }, (_, i) => idOf(s.messages.append('busy', 'ann', `m${i}`, 100))),
  );
  assert.deepEqual(
    [...ids].sort((a, b) => a - b),
    Array.from({ length: 60 }, (_, i) => i + 1),
  );
  const stored = await s.messages.range('busy', 1, 60);
  for (const m of stored)
    assert.equal(m.message, `m${ids.indexOf(m.messageid)}`, 'each text under the id its append answered');
}

async function checkAppendIfLast(s: Opened): Promise<void> {
  assert.equal(
    await idIf(s.messages.appendIf('cond', 'ann', 'not at 3', 100, { lastId: 3 })),
    undefined,
    'an empty channel is at 0',
  );
  assert.equal(await idOf(s.messages.last('cond')), 0);
  assert.equal(await idIf(s.messages.appendIf('cond', 'ann', 'first', 100, { lastId: 0 })), 1);
  assert.equal(await idIf(s.messages.appendIf('cond', 'ann', 'again at 0', 100, { lastId: 0 })), undefined);
  const racers = await Promise.all(
    Array.from({ length: 20 }, (_, i) => idIf(s.messages.appendIf('cond', 'bo', `racer ${i}`, 100, { lastId: 1 }))),
  );
  const won = racers.filter((id) => id !== undefined);
  assert.deepEqual(won, [2], 'exactly one racer appended');
  assert.equal(await idOf(s.messages.last('cond')), 2);
  const stored = await s.messages.range('cond', 1, 10);
  assert.deepEqual(
    stored.map((m) => m.messageid),
    [1, 2],
  );
  assert.equal(stored[1].message, `racer ${racers.indexOf(2)}`);
  // Unconditional appends carry on from there.
  assert.equal(await idOf(s.messages.append('cond', 'ann', 'plain', 100)), 3);
}

async function checkAppendIfStamp(s: Opened): Promise<void> {
  const at = (lastModified: number, text: string, key?: AppendKey) =>
    s.messages.appendIf('by-stamp', 'ann', text, 100, { lastModified }, key);
  assert.deepEqual(await s.messages.last('by-stamp'), { messageid: 0, lastModified: 0 }, 'nothing yet: both 0');
  assert.equal(await at(1, 'not at 1'), undefined, 'an empty channel is at 0');
  const first = await at(0, 'first');
  assert.equal(first?.messageid, 1);
  const plain = await s.messages.append('by-stamp', 'bo', 'plain', 100);
  const stored = await s.messages.range('by-stamp', 1, 10);
  assert.deepEqual(
    [first, plain],
    stored.map((m) => ({ messageid: m.messageid, lastModified: m.lastModified })),
    'each append answers the stamp its message is stored with',
  );
  assert.deepEqual(await s.messages.last('by-stamp'), plain, 'last: the newest id and its stamp');
  assert.equal(await at(first.lastModified, 'at an older stamp'), undefined);
  assert.equal(await at(plain.messageid, 'at the last id, not a stamp'), undefined);
  const racers = await Promise.all(Array.from({ length: 20 }, (_, i) => at(plain.lastModified, `racer ${i}`)));
  const won = racers.filter((r) => r !== undefined);
  assert.equal(won.length, 1, 'exactly one racer appended');
  assert.equal(won[0].messageid, 3);
  assert.ok(won[0].lastModified > plain.lastModified);
  assert.deepEqual(await s.messages.last('by-stamp'), won[0]);
  // A key held answers its message, with its stamp, wherever the channel is; a refusal keeps no key.
  // (Kept longer than checkAppendKeys prunes up to.)
  const key = { key: 'k', now: Date.now(), ttlMs: 3_600_000 };
  assert.equal(await at(plain.lastModified, 'stale', key), undefined);
  const keyed = await at(won[0].lastModified, 'keyed', key);
  assert.equal(keyed?.messageid, 4);
  assert.deepEqual(await at(0, 'keyed', key), keyed, 'the key again: the same message and stamp');
  assert.deepEqual(await s.messages.append('by-stamp', 'ann', 'keyed', 100, key), keyed);
  assert.deepEqual(await s.messages.append('by-stamp', 'ann', 'drops the rest', 1), {
    messageid: 5,
    lastModified: (await s.messages.last('by-stamp')).lastModified,
  });
  assert.deepEqual(
    await s.messages.append('by-stamp', 'ann', 'keyed', 1, key),
    { messageid: 4, lastModified: 0 },
    'a key whose message is no longer retained: its id, stamp 0',
  );
}

async function checkAppendKeys(s: Opened): Promise<void> {
  const now = Date.now();
  const key = (k: string, at = now) => ({ key: k, now: at, ttlMs: 60_000 });
  const count = async (channel: string) => (await s.messages.range(channel, 1, 1000)).length;
  assert.equal(await idOf(s.messages.append('keyed', 'ann', 'once', 100, key('k1'))), 1);
  assert.equal(await idOf(s.messages.append('keyed', 'ann', 'once', 100, key('k1'))), 1, 'the same key: the same id');
  assert.equal(await count('keyed'), 1, 'and nothing stored');
  assert.equal(
    await idOf(s.messages.append('keyed', 'ann', 'other', 100, key('k2'))),
    2,
    'another key: another message',
  );
  assert.equal(
    await idOf(s.messages.append('keyed', 'bo', 'bo', 100, key('k1'))),
    3,
    "another user's key is independent",
  );
  assert.equal(await idOf(s.messages.append('keyed-2', 'ann', 'there', 100, key('k1'))), 1, "another channel's too");
  assert.equal(await idOf(s.messages.append('keyed', 'ann', 'plain', 100)), 4);
  assert.equal(await idOf(s.messages.append('keyed', 'bo', 'bo', 100, key('k1'))), 3);
  assert.deepEqual(
    (await s.messages.range('keyed', 1, 10)).map((m) => [m.username, m.message]),
    [
      ['ann', 'once'],
      ['ann', 'other'],
      ['bo', 'bo'],
      ['ann', 'plain'],
    ],
  );
  // Concurrent appends with one key (and others without): one message for the key, every caller its id.
  const racers = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      i % 2 === 0
        ? idOf(s.messages.append('keyed', 'cy', 'raced', 100, key('race')))
        : idOf(s.messages.append('keyed', 'cy', `plain ${i}`, 100)),
    ),
  );
  const keyedIds = racers.filter((_, i) => i % 2 === 0);
  assert.equal(new Set(keyedIds).size, 1, `one id for the key: ${keyedIds.join(',')}`);
  assert.deepEqual(
    [...new Set(racers)].sort((a, b) => a - b),
    Array.from({ length: 11 }, (_, i) => i + 5),
    'gap-free',
  );
  assert.equal((await s.messages.range('keyed', 1, 100)).filter((m) => m.message === 'raced').length, 1);
  // appendIfLast: a key held answers its id whatever the last id; a new key is checked and kept.
  const last = await idOf(s.messages.last('keyed'));
  assert.equal(await idIf(s.messages.appendIf('keyed', 'ann', 'once', 100, { lastId: 0 }, key('k1'))), 1);
  assert.equal(await idIf(s.messages.appendIf('keyed', 'ann', 'stale', 100, { lastId: 0 }, key('k3'))), undefined);
  assert.equal(
    await idIf(s.messages.appendIf('keyed', 'ann', 'at last', 100, { lastId: last }, key('k3'))),
    last + 1,
    'refused: key not kept',
  );
  assert.equal(await idIf(s.messages.appendIf('keyed', 'ann', 'at last', 100, { lastId: last }, key('k3'))), last + 1);
  assert.equal(
    await idOf(s.messages.append('keyed', 'ann', 'at last', 100, key('k3'))),
    last + 1,
    'one key for both kinds',
  );
  // Kept their time to live whatever the retention (a retain of 1 drops message 1), then a new key.
  assert.equal(await idOf(s.messages.append('keyed', 'ann', 'drops the rest', 1)), last + 2);
  assert.deepEqual(await s.messages.range('keyed', 1, 1), [], 'message 1 is no longer retained');
  assert.equal(await idOf(s.messages.append('keyed', 'ann', 'x', 1, key('k1', now + 59_999))), 1);
  assert.equal(await idOf(s.messages.append('keyed', 'ann', 'new', 1, key('k1', now + 60_000))), last + 3, 'expired');
  assert.equal(await s.messages.pruneKeys(now + 59_999), 0);
  assert.equal(await s.messages.pruneKeys(now + 60_000), 5, 'every key but the one taken again');
  assert.equal(await s.messages.pruneKeys(now + 60_000), 0);
  assert.equal(
    await idOf(s.messages.append('keyed', 'bo', 'bo again', 1, key('k1', now + 60_001))),
    last + 4,
    'pruned',
  );
}

async function checkNodes(s: Opened): Promise<void> {
  const node = (id: string, owner: string, createdAt: number): NodeRecord => ({
    ...newNode({ id, owner, name: `n-${id}`, image: 'echo', size: 'small', command: '' }, createdAt),
    host: '127.0.0.1',
    exitCode: 0,
  });
  assert.equal(await s.nodes.create(node('b', 'ann', 20), 2), 'created');
  assert.equal(await s.nodes.create(node('b', 'ann', 20), 2), 'exists');
  assert.equal(await s.nodes.create(node('a', 'ann', 20), 2), 'created');
  assert.equal(
    await s.nodes.create({ ...node('c', 'ann', 10), name: 'n-a' }, 2),
    'name',
    "a name its owner's nodes hold already",
  );
  assert.equal(await s.nodes.create({ ...node('c', 'zed', 10), name: 'n-a' }, 2), 'created', "another owner's");
  assert.equal(await s.nodes.delete('c'), true);
  assert.equal(await s.nodes.create(node('c', 'ann', 10), 2), 'limit');
  assert.deepEqual(
    (await s.nodes.list('ann')).map((n) => n.id),
    ['a', 'b'],
  );
  const racers = await Promise.all(
    Array.from({ length: 10 }, (_, i) => s.nodes.create(node(`r${i}`, 'bo', 100 + i), 3)),
  );
  assert.equal(racers.filter((r) => r === 'created').length, 3);
  assert.equal(racers.filter((r) => r === 'limit').length, 7);
  assert.equal((await s.nodes.list()).length, 5);
  const active = { ...node('a', 'ann', 20), status: 'ACTIVE' as const, port: 8123, pid: 99, updatedAt: 30 };
  const before = (await s.nodes.get('a'))!.version;
  const put = await s.nodes.put({ ...active, version: 77 });
  assert.ok(put > before && put !== 77, 'the store sets the version, whatever it is given');
  assert.deepEqual(await s.nodes.get('a'), { ...active, version: put });
  assert.equal(await s.nodes.delete('a'), true);
  assert.equal(await s.nodes.delete('a'), false);
  assert.equal(await s.nodes.get('a'), undefined);
}

async function checkNodeVersions(s: Opened): Promise<void> {
  const base: NodeRecord = {
    id: 'cas',
    owner: 'cy',
    name: 'cas',
    image: 'echo',
    size: 'small',
    command: '',
    status: 'ACTIVE',
    task: '',
    reason: '',
    host: '127.0.0.1',
    port: 9000,
    pid: 1,
    exitCode: -1,
    signal: '',
    createdAt: 5,
    updatedAt: 5,
    version: 0,
    permissions: ownerOnly('cy'),
  };
  assert.deepEqual(await s.nodes.putIfVersion(base, 1), { done: false, version: undefined }, 'no such node');
  assert.equal(await s.nodes.create(base, 10), 'created');
  const v1 = (await s.nodes.get('cas'))!.version;
  assertStamps([v1], Date.now() - 60_000, 'a new node is stamped');
  assert.deepEqual(await s.nodes.putIfVersion({ ...base, name: 'old' }, 7), { done: false, version: v1 });
  const racers = await Promise.all(
    Array.from({ length: 12 }, (_, i) => s.nodes.putIfVersion({ ...base, name: `racer-${i}` }, v1)),
  );
  const won = racers.findIndex((r) => r.done);
  assert.equal(racers.filter((r) => r.done).length, 1, 'exactly one racer wrote');
  const v2 = racers[won].version!;
  assert.ok(v2 > v1);
  assert.deepEqual(racers[won], { done: true, version: v2 });
  for (const r of racers.filter((x) => !x.done)) assert.deepEqual(r, { done: false, version: v2 });
  assert.deepEqual(
    await s.nodes.get('cas'),
    { ...base, name: `racer-${won}`, version: v2 },
    "the winner's record, nobody else's",
  );
  assert.ok((await s.nodes.put(base)) > v2, 'a plain put stamps it too');
  await s.nodes.delete('cas');
}

async function checkNodeListVersions(s: Opened): Promise<void> {
  const rec = (id: string, owner: string): NodeRecord => ({
    ...newNode({ id, owner, name: id, image: 'echo', size: 'small', command: '' }, 7),
    version: 0,
  });
  const { sharing } = await s.nodes.owned('dee');
  assert.deepEqual(await s.nodes.owned('dee'), { nodes: [], deleted: [], version: 0, sharing });
  assert.equal(await s.nodes.create(rec('d1', 'dee'), 10, sharing), 'created', 'an empty list: at the sharing stamp');
  const created = await s.nodes.owned('dee');
  assert.equal(created.version, created.nodes[0].version, "the list's version is its last write's timestamp");
  const put = await s.nodes.put({ ...rec('d1', 'dee'), status: 'ACTIVE' });
  const compared = await s.nodes.putIfVersion(rec('d1', 'dee'), put);
  assert.equal(compared.done, true);
  const owned = await s.nodes.owned('dee');
  assertStamps([created.version, put, compared.version], Date.now() - 60_000, 'a create, a put and a compared put');
  assert.deepEqual(
    [owned.version, owned.nodes.map((n) => [n.id, n.version])],
    [compared.version, [['d1', compared.version]]],
  );
  assert.equal((await s.nodes.owned('eve')).version, 0, "another owner's list is its own");
  assert.equal(await s.nodes.create(rec('d2', 'dee'), 10, created.version), 'stale', 'an old list version');
  assert.equal(await s.nodes.get('d2'), undefined);
  const racers = await Promise.all(
    Array.from({ length: 12 }, (_, i) => s.nodes.create(rec(`dr${i}`, 'dee'), 10, owned.version)),
  );
  assert.deepEqual(racers.filter((r) => r === 'created').length, 1, 'exactly one racer created');
  assert.deepEqual(
    racers.filter((r) => r !== 'created'),
    Array(11).fill('stale'),
  );
  const raced = (await s.nodes.owned('dee')).version;
  assert.equal(await s.nodes.delete('d1'), true);
  const after = await s.nodes.owned('dee');
  assert.ok(after.version > raced, 'the delete stamps the list too');
  assert.deepEqual(
    [after.nodes.length, after.deleted],
    [1, [{ id: 'd1', lastModified: after.version }]],
    'the delete left a tombstone stamped as the list',
  );
  assert.equal(await s.nodes.create(rec('d3', 'dee'), 2), 'created', 'without a version: as before');
  const full = (await s.nodes.owned('dee')).version;
  assert.equal(await s.nodes.create(rec('d4', 'dee'), 2, full), 'limit', 'at the version, the limit still holds');
}

async function checkNodeTombstones(s: Opened): Promise<void> {
  const rec = (id: string): NodeRecord => ({
    ...newNode({ id, owner: 'tomb', name: id, image: 'echo', size: 'small', command: '' }, 7),
    version: 0,
  });
  for (const id of ['t1', 't2', 't3']) assert.equal(await s.nodes.create(rec(id), 10), 'created');
  assert.equal(await s.nodes.delete('t1'), true);
  assert.equal(await s.nodes.delete('t2'), true);
  const { deleted, version } = await s.nodes.owned('tomb');
  assert.deepEqual(
    deleted.map((d) => d.id),
    ['t1', 't2'],
    'in the order of their deletion',
  );
  assertStamps([...deleted.map((d) => d.lastModified)], Date.now() - 60_000, 'tombstones');
  assert.equal(deleted[1].lastModified, version);
  assert.deepEqual((await s.nodes.owned('other')).deleted, [], "another owner's are its own");
  assert.ok((await s.nodes.pruneTombstones(deleted[1].lastModified)) >= 1, 'those stamped before the cut');
  assert.deepEqual((await s.nodes.owned('tomb')).deleted, [deleted[1]]);
  assert.equal(await s.nodes.put(rec('t2')), (await s.nodes.owned('tomb')).version, 'a node written again…');
  assert.deepEqual((await s.nodes.owned('tomb')).deleted, [], '…is no longer a tombstone');
  await s.nodes.delete('t2');
  await s.nodes.delete('t3');
  assert.ok((await s.nodes.pruneTombstones(Number.MAX_SAFE_INTEGER)) >= 2);
  assert.deepEqual((await s.nodes.owned('tomb')).deleted, []);
}

async function checkNodePermissions(s: Opened): Promise<void> {
  const rec = (id: string, owner: string, createdAt: number, permissions?: Permissions): NodeRecord =>
    newNode({ id, owner, name: id, image: 'echo', size: 'small', command: '', permissions }, createdAt);
  const shared: Permissions = { read: ['account:pb'], write: ['account:pa'] };
  assert.equal(await s.nodes.create(rec('pn1', 'pa', 1, shared), 10), 'created');
  assert.equal(await s.nodes.create(rec('pn2', 'pa', 2), 10), 'created');
  assert.equal(await s.nodes.create(rec('pn3', 'pc', 3, { read: [], write: ['system.Authenticated'] }), 10), 'created');
  assert.deepEqual((await s.nodes.get('pn1'))?.permissions, shared);
  assert.deepEqual((await s.nodes.get('pn2'))?.permissions, ownerOnly('pa'), 'newNode: its owner alone by default');
  const readable = async (principals: string[]) =>
    (await s.nodes.readable(principals)).map((n) => n.id).filter((id) => id.startsWith('pn'));
  assert.deepEqual(await readable(principalsOf('pa')), ['pn1', 'pn2', 'pn3'], 'oldest first, a writer reads');
  assert.deepEqual(await readable(principalsOf('pb')), ['pn1', 'pn3']);
  assert.deepEqual(await readable([EVERYONE]), []);
  const current = (await s.nodes.get('pn2'))!;
  const opened: Permissions = { read: [EVERYONE], write: ['account:pa', 'account:pb'] };
  assert.equal((await s.nodes.putIfVersion({ ...current, permissions: opened }, current.version)).done, true);
  assert.deepEqual((await s.nodes.get('pn2'))?.permissions, opened, 'written with the record');
  assert.deepEqual(await readable([EVERYONE]), ['pn2']);
  await s.nodes.put({ ...current, permissions: ownerOnly('pa') });
  assert.deepEqual(await readable(principalsOf('pb')), ['pn1', 'pn3']);
  for (const id of ['pn1', 'pn2', 'pn3']) assert.equal(await s.nodes.delete(id), true);
}

/**
 * The sharing stamp: every write of a node shared before or after it moves it, so the list a reader sees
 * (`viewVersion`) moves when a node shared with it is unshared or deleted, which leaves it no tombstone;
 * a create compares that view.
 */
async function checkNodeSharing(s: Opened): Promise<void> {
  const rec = (id: string, owner: string, permissions?: Permissions): NodeRecord =>
    newNode({ id, owner, name: id, image: 'echo', size: 'small', command: '', permissions }, 5);
  const views: number[] = [];
  const view = async (): Promise<number> => {
    const seen = viewVersion(await s.nodes.owned('sb'));
    views.push(seen);
    return seen;
  };
  const sharedWithSb: Permissions = { read: ['account:sb'], write: ['account:sa'] };
  const v0 = await view();
  assert.equal(await s.nodes.create(rec('sn1', 'sa', sharedWithSb), 10), 'created');
  const made = (await s.nodes.get('sn1'))!;
  assert.equal((await s.nodes.owned('sc')).sharing, made.version, 'a shared create stamps it');
  assert.ok((await view()) > v0);
  const quiet = (await s.nodes.owned('sb')).sharing;
  assert.equal(await s.nodes.create(rec('sn2', 'sa'), 10), 'created');
  await s.nodes.put({ ...rec('sn2', 'sa'), status: 'ACTIVE' });
  assert.equal((await s.nodes.owned('sb')).sharing, quiet, 'a write of a node nobody else sees: not');
  assert.ok((await s.nodes.get('sn2'))!.version > quiet, 'but it comes after it');
  const running = await s.nodes.put({ ...made, status: 'ACTIVE' });
  assert.equal((await s.nodes.owned('sb')).sharing, running, 'any write of a shared node stamps it');
  const before = await view();
  const unshared = await s.nodes.putIfVersion({ ...made, permissions: ownerOnly('sa') }, running);
  assert.equal(unshared.done, true);
  const after = await view();
  assert.equal(after, unshared.version, 'unsharing moves the view of the reader it no longer sees');
  assert.ok(after > before);
  assert.equal(await s.nodes.create(rec('sb1', 'sb'), 10, before), 'stale', 'a view before the unsharing');
  assert.equal(await s.nodes.create(rec('sb1', 'sb'), 10, after), 'created', 'the view as it is');
  const own = await view();
  assert.ok(own > after, "the reader's own create comes after the sharing stamp");
  await s.nodes.put({ ...(await s.nodes.get('sn1'))!, permissions: { read: [EVERYONE], write: ['account:sa'] } });
  const reshared = await view();
  assert.equal(await s.nodes.delete('sn1'), true);
  const deleted = await view();
  assert.ok(deleted > reshared, 'deleting a shared node moves the view too');
  assert.deepEqual((await s.nodes.owned('sb')).deleted, [], 'without a tombstone in the reader list');
  assert.equal(await s.nodes.create(rec('sb2', 'sb'), 10, own), 'stale', 'a view before the delete');
  for (let i = 1; i < views.length; i++) assert.ok(views[i] >= views[i - 1], `never backwards: ${views.join(', ')}`);
  for (const id of ['sn2', 'sb1']) assert.equal(await s.nodes.delete(id), true);
}

async function checkFailures(s: Opened): Promise<void> {
  // defaultConfig: 5 failures within 60 s lock for 60 s.
  const t0 = 1_800_000_000_000;
  for (let i = 0; i < 4; i++) await s.failures.fail('ann', t0 + i);
  assert.equal(await s.failures.retryAfterMs('ann', t0 + 10), 0, 'four failures: not locked');
  await s.failures.fail('ann', t0 + 20);
  assert.equal(await s.failures.retryAfterMs('ann', t0 + 20), 60_000, 'the fifth locks for the window');
  assert.equal(await s.failures.retryAfterMs('ann', t0 + 50_020), 10_000);
  assert.equal(await s.failures.retryAfterMs('ann', t0 + 60_020), 0, 'the lock is over');
  await s.failures.fail('ann', t0 + 60_030);
  assert.equal(await s.failures.retryAfterMs('ann', t0 + 60_030), 0, 'a failure after the lock opens a new window');
  // Failures spread over more than a window never lock.
  for (let i = 0; i < 8; i++) await s.failures.fail('slow', t0 + i * 20_000);
  assert.equal(await s.failures.retryAfterMs('slow', t0 + 160_000), 0);
  await s.failures.reset('ann');
  for (let i = 0; i < 4; i++) await s.failures.fail('ann', t0 + 70_000);
  assert.equal(await s.failures.retryAfterMs('ann', t0 + 70_000), 0, 'reset forgot the earlier failure');
  // Concurrent failures are each counted: 30 at once lock the key.
  await Promise.all(Array.from({ length: 30 }, () => s.failures.fail('10.0.0.9', t0)));
  assert.equal(await s.failures.retryAfterMs('10.0.0.9', t0 + 1), 59_999);
  assert.equal(await s.failures.retryAfterMs('nobody', t0), 0);
}

async function checkHealth(s: Opened): Promise<void> {
  const health = await s.health();
  assert.equal(health.length, s.backends.length);
  for (const h of health) assert.equal(h.ok, true, JSON.stringify(h));
  assert.deepEqual(
    await s.checks().run(Date.now() + 2000),
    Object.fromEntries(s.backends.filter((b) => b !== 'memory').map((b) => [b, true])),
  );
}

/** The contract, check by check, in the order they run (each leaves the stores as the next expects them). */
const CONTRACT: Array<[string, (s: Opened) => Promise<void>]> = [
  ['users: insert if absent, the first insert wins, one winner among concurrent creates', checkUsers],
  ['sessions: create once per key, touch never goes back, delete, expire answers what it removed', checkSessions],
  [
    'sessions: deleteIfVersion removes only at the version, atomically under 12 racers; versions are never shared',
    checkSessionVersions,
  ],
  ['channels: insert if absent, listed in code-unit order; each create bumps the version', checkChannels],
  ['channels: create at an expected version, atomically under 12 racers', checkChannelVersions],
  [
    'channels: permissions kept with the channel (public by default), a list for principals, setPermissions',
    checkChannelPermissions,
  ],
  [
    "channels: setPermissionsIfVersion writes only at the channel's last_modified, atomically under 12 racers",
    checkChannelPermissionVersions,
  ],
  ['messages: ids from 1 without gaps, retention of the newest, any text kept exactly', checkMessages],
  ['messages: 60 concurrent appends to one channel get 1..60 exactly once', checkConcurrentAppends],
  [
    'messages: every message stamped lastModified, strictly increasing in id order per channel, near now',
    checkMessageStamps,
  ],
  ['messages: appendIf appends only at the expected last id, atomically under 20 racers', checkAppendIfLast],
  [
    'messages: appends answer the stamp range shows, last the newest; appendIf at the last stamp, atomically under 20 racers',
    checkAppendIfStamp,
  ],
  [
    'messages: a key recorded with its append answers its id and stores nothing, per channel and user, under racers; kept its time to live',
    checkAppendKeys,
  ],
  [
    "nodes: create under a per-owner limit (also when concurrent) and not under a name the owner's nodes hold; list oldest first, put, delete",
    checkNodes,
  ],
  [
    'nodes: the sharing stamp moves with every write of a shared node; a create compares the view it makes',
    checkNodeSharing,
  ],
  ['nodes: putIfVersion writes only at the version, atomically under 12 racers', checkNodeVersions],
  [
    "nodes: an owner's list version moves with every write of its nodes; create at an expected list version, atomically under 12 racers",
    checkNodeListVersions,
  ],
  ['nodes: a delete leaves a tombstone stamped as a write, until pruned', checkNodeTombstones],
  [
    'nodes: permissions kept with the record; readable(principals) whoever owns them, oldest first',
    checkNodePermissions,
  ],
  [
    'failures: the Nth failure in the window locks for the window; a new window after; reset; 30 racers all counted',
    checkFailures,
  ],
  ['health: every backend in use answers', checkHealth],
];

const KINDS = ['users', 'sessions', 'channels', 'messages', 'nodes', 'failures'] as const;

test('memory adapters keep the contract', async (t) => {
  await contract(t, () => openStores(defaultConfig(), log, KINDS));
});

test("a reader's view of the node list grows with every change of it, the clock stuck", async () => {
  const nodes = new MemoryNodeStore(() => 9_000);
  const rec = (id: string, owner: string, permissions?: Permissions): NodeRecord =>
    newNode({ id, owner, name: id, image: 'e', size: 's', command: '', permissions }, 1);
  const seen = [viewVersion(await nodes.owned('rd'))];
  const step = async (what: string, write: () => Promise<unknown>): Promise<void> => {
    await write();
    const now = viewVersion(await nodes.owned('rd'));
    assert.ok(now > seen[seen.length - 1], `${what}: ${[...seen, now].join(', ')}`);
    seen.push(now);
  };
  for (let i = 0; i < 3; i++) await step(`own write ${i}`, () => nodes.put(rec(`own${i}`, 'rd')));
  const shared = rec('sh', 'ow', { read: ['account:rd'], write: [] });
  await step('shared with it', () => nodes.create(shared, 10));
  await step('its own again', () => nodes.put(rec('own0', 'rd')));
  await step('unshared', () => nodes.put({ ...shared, permissions: ownerOnly('ow') }));
  await step('shared again', () => nodes.put(shared));
  await step('its own again', () => nodes.put(rec('own1', 'rd')));
  await step('deleted', () => nodes.delete('sh'));
});

test('timestamps: writes within one millisecond, or after the clock stepped back, still grow by one', async () => {
  let now = 5_000;
  const clock = (): number => now;
  const nodes = new MemoryNodeStore(clock);
  const channels = new MemoryChannelStore(clock);
  const routes = new MemoryRouteStore(clock);
  const rec = (id: string): NodeRecord =>
    newNode({ id, owner: 'ann', name: id, image: 'e', size: 's', command: '' }, 1);
  assert.equal(await nodes.create(rec('a'), 10), 'created');
  assert.equal(await nodes.put(rec('a')), 5_001);
  assert.equal(await nodes.delete('a'), true);
  assert.deepEqual(await nodes.owned('ann'), {
    nodes: [],
    deleted: [{ id: 'a', lastModified: 5_002 }],
    version: 5_002,
    sharing: 0,
  });
  const bos = { ...rec('b'), owner: 'bo', permissions: ownerOnly('bo') };
  assert.equal(await nodes.put(bos), 5_000, "another owner's collection is its own");
  now = 4_000;
  assert.equal((await channels.create('x', 'ann')).version, 4_000);
  assert.equal((await channels.create('y', 'ann')).version, 4_001, 'same millisecond');
  now = 3_000;
  assert.equal((await channels.create('z', 'ann')).version, 4_002, 'the clock stepped back');
  const made = await routes.create({
    source: 'r.test',
    owner: 'ann',
    targetNode: 'a',
    targetUrl: '',
    mode: 'proxy',
    enforceHttps: false,
    connectTimeoutMs: 0,
    readTimeoutMs: 0,
    createdAt: 1,
    updatedAt: 1,
    version: 0,
  });
  assert.ok(made.done && made.route.version === 3_000);
  assert.equal((await routes.delete('r.test', 'ann')).done, true);
  assert.equal((await routes.owned('ann')).version, 3_001);
  now = 9_000;
  assert.equal(await nodes.pruneTombstones(5_003), 1);
  assert.deepEqual((await nodes.owned('ann')).deleted, []);
});

test('PostgreSQL adapters keep the contract; several instances at once; outages', async (t) => {
  const pg = await startPostgres(t);
  if (pg === undefined) return;
  const config = { ...defaultConfig(), databaseUrl: await pg.newDatabase(), databasePoolMax: 4, storeTimeoutMs: 2000 };
  assert.equal(resolve('sessions', config), 'postgres', 'sessions follow the database when Redis is not configured');
  await contract(t, () => openStores(config, log, KINDS));

  await t.test('migrations started by five processes at once apply once', () => concurrentMigrations(pg));
  await t.test("migration 9: existing channels stay public, existing nodes become their owner's alone", () =>
    permissionsMigration(pg),
  );
  await t.test(
    'migrations 12 and 14: the messages stored before get increasing stamps, new ones come after, answered',
    () => stampsMigration(pg),
  );
  await t.test(
    'migration 15: appends without keys go on after those of migrations 12 and 14, ids, stamps and retention',
    () => unkeyedMigration(pg),
  );
  await t.test(
    'migration 19: the messages retained move into rings of as many rows, those awaiting their trim go; appends go on',
    () => ringMigration(pg),
  );
  await t.test(
    "the sharing stamp's migration: it starts at the last shared node's timestamp, and an unsharing moves it on",
    () => sharingMigration(pg),
  );
  await t.test(
    'two instances posting to one channel at once: ids gap-free and unique, stamps increasing, retention holds',
    () => twoInstancesAppend(t, config),
  );
  await t.test(
    'retention keeps a ring of rows per channel: taken over in turn, grown and shrunk with the retention, read across its end, and a replayed key finds its message gone',
    () => ringRetention(config),
  );
  await t.test(
    "a conditional append that waited for another append to commit takes over the row of that one's message, leaving nothing behind",
    () => conditionalAfterWait(config),
  );
  await t.test(
    'two instances posting at once with retentions that grow the rings: no deadlock, ids gap-free, every message on its id',
    () => twoInstancesGrow(config),
  );
  await t.test('two instances posting with the same keys at once: one message per key, every caller its id', () =>
    twoInstancesKeyed(config),
  );
  await t.test('two instances comparing and writing at one version at once: one write each time, in every kind', () =>
    twoInstancesCompare(config),
  );
  await t.test(
    'PostgreSQL down: calls fail with AGORA_ERR_STORE_UNAVAILABLE, health says so; back up: calls succeed again',
    () => postgresOutage(t, pg, config),
  );
});

async function concurrentMigrations(pg: Postgres): Promise<void> {
  const url = await pg.newDatabase();
  const dbs = Array.from({ length: 5 }, () => new PgDatabase({ url, poolMax: 2, timeoutMs: 5000, log }));
  try {
    const applied = await Promise.all(dbs.map((db) => db.migrate()));
    assert.deepEqual(applied.flat().sort(), MIGRATIONS.map((m) => m.version).sort());
    const rows = await dbs[0].query<{ version: number }>(
      'SELECT version FROM agora_schema_migrations ORDER BY version',
    );
    assert.deepEqual(
      rows.map((r) => r.version),
      MIGRATIONS.map((m) => m.version),
    );
  } finally {
    await Promise.all(dbs.map((db) => db.close()));
  }
}

async function permissionsMigration(pg: Postgres): Promise<void> {
  const url = await pg.newDatabase();
  const pool = new Pool({ connectionString: url, max: 1 });
  const client = await pool.connect();
  let before = 0;
  try {
    await migrate(
      client,
      MIGRATIONS.filter((m) => m.version < 9),
    );
    await client.query(
      "INSERT INTO agora_channels (name, created_by, created_at, last_modified) VALUES ('old', 'ann', 1, 1)",
    );
    const record = { ...newNode({ id: 'old', owner: 'bo', name: 'old', image: 'echo', size: '', command: '' }, 1) };
    delete (record as Partial<NodeRecord>).permissions;
    await client.query("INSERT INTO agora_nodes (id, owner, created_at, record) VALUES ('old', 'bo', 1, $1)", [record]);
    const [{ version }] = (await client.query<{ version: string }>("SELECT version FROM agora_nodes WHERE id = 'old'"))
      .rows;
    before = Number(version);
    assert.deepEqual(await migrate(client), [9, ...MIGRATIONS.filter((m) => m.version > 9).map((m) => m.version)]);
  } finally {
    client.release();
    await pool.end();
  }
  const s = await openStores({ ...defaultConfig(), databaseUrl: url, storeTimeoutMs: 2000 }, log, [
    'channels',
    'nodes',
  ]);
  try {
    assert.deepEqual((await s.channels.get('old'))?.permissions, publicChannel('ann'), 'public, as it was');
    assert.deepEqual((await s.channels.list(principalsOf('cy'))).names, ['old']);
    const node = await s.nodes.get('old');
    assert.deepEqual(node?.permissions, ownerOnly('bo'), "its owner's alone");
    assert.ok(node !== undefined && node.version > before, 'a new version, stamped as any write');
    assert.deepEqual(
      (await s.nodes.readable(principalsOf('bo'))).map((n) => n.id),
      ['old'],
    );
    assert.deepEqual(await s.nodes.readable(principalsOf('cy')), []);
  } finally {
    await s.close();
  }
}

async function sharingMigration(pg: Postgres): Promise<void> {
  const url = await pg.newDatabase();
  const pool = new Pool({ connectionString: url, max: 1 });
  const client = await pool.connect();
  const rec = (id: string, owner: string, permissions?: Permissions): NodeRecord =>
    newNode({ id, owner, name: id, image: 'echo', size: '', command: '', permissions }, 1);
  let sharedAt = 0;
  try {
    await migrate(
      client,
      MIGRATIONS.filter((m) => m.version < NODE_SHARING_MIGRATION),
    );
    // Written as the processes before the migration write them (the trigger of migration 8 stamps them).
    const insert = 'INSERT INTO agora_nodes (id, owner, created_at, record) VALUES ($1, $2, 1, $3) RETURNING version';
    const shared = rec('up-shared', 'uo', { read: ['account:ur'], write: ['account:uo'] });
    sharedAt = Number((await client.query<{ version: string }>(insert, ['up-shared', 'uo', shared])).rows[0].version);
    await client.query(insert, ['up-own', 'uo', rec('up-own', 'uo')]);
    assert.deepEqual(
      await migrate(client),
      MIGRATIONS.filter((m) => m.version >= NODE_SHARING_MIGRATION).map((m) => m.version),
    );
  } finally {
    client.release();
    await pool.end();
  }
  const s = await openStores({ ...defaultConfig(), databaseUrl: url, storeTimeoutMs: 2000 }, log, ['nodes']);
  try {
    const reader = await s.nodes.owned('ur');
    assert.equal(reader.sharing, sharedAt, 'the last timestamp of the nodes shared before');
    const seen = viewVersion(reader);
    const node = (await s.nodes.get('up-shared'))!;
    const unshared = await s.nodes.putIfVersion({ ...node, permissions: ownerOnly('uo') }, node.version);
    assert.equal(unshared.done, true);
    const after = await s.nodes.owned('ur');
    assert.ok(viewVersion(after) > seen, "the reader's view moves on");
    assert.ok(after.sharing >= (await s.nodes.owned('uo')).version, "after its owner's list");
    assert.equal(await s.nodes.create(rec('ur1', 'ur'), 10, seen), 'stale');
    assert.equal(await s.nodes.create(rec('ur1', 'ur'), 10, viewVersion(after)), 'created');
  } finally {
    await s.close();
  }
}

async function stampsMigration(pg: Postgres): Promise<void> {
  const url = await pg.newDatabase();
  const pool = new Pool({ connectionString: url, max: 1 });
  const client = await pool.connect();
  const t0 = Date.now();
  try {
    await migrate(
      client,
      MIGRATIONS.filter((m) => m.version < 12),
    );
    // Stored as the processes before migration 12 store them (retention 3: messages 3..5 kept).
    await client.query(
      "SELECT agora_append_messages(ARRAY['old','old','old','old','old','other'], ARRAY['ann','ann','bo','bo','ann','cy'], $1, 3)",
      [['m1', 'm2', 'm3', 'm4', 'm5', 'o1'].map((m) => Buffer.from(m))],
    );
    assert.deepEqual(
      await migrate(client),
      MIGRATIONS.filter((m) => m.version >= 12).map((m) => m.version),
    );
  } finally {
    client.release();
    await pool.end();
  }
  const s = await openStores({ ...defaultConfig(), databaseUrl: url, storeTimeoutMs: 2000 }, log, ['messages']);
  try {
    const old = await s.messages.range('old', 1, 10);
    assert.deepEqual(unstamped(old), [
      { messageid: 3, username: 'bo', message: 'm3' },
      { messageid: 4, username: 'bo', message: 'm4' },
      { messageid: 5, username: 'ann', message: 'm5' },
    ]);
    assertStampsIncrease(old, 'back-filled');
    assert.ok(old[0].lastModified >= t0 - 1000 && old[2].lastModified <= Date.now() + 1000, 'at the migration');
    assert.equal((await s.messages.range('other', 1, 10)).length, 1);
    const sixth = await s.messages.append('old', 'ann', 'new', 3);
    assert.equal(sixth.messageid, 6);
    const seventh = await s.messages.appendIf('old', 'ann', 'newer', 3, { lastModified: sixth.lastModified });
    assert.equal(seventh?.messageid, 7);
    const now = await s.messages.range('old', 1, 10);
    assertStampsIncrease(now, 'back-filled, then new');
    // Migration 14: an append answers the stamp it stored.
    assert.deepEqual(
      [sixth, seventh],
      now.slice(-2).map((m) => ({ messageid: m.messageid, lastModified: m.lastModified })),
    );
  } finally {
    await s.close();
  }
}

async function ringMigration(pg: Postgres): Promise<void> {
  const url = await pg.newDatabase();
  const pool = new Pool({ connectionString: url, max: 1 });
  const client = await pool.connect();
  const post = (channel: string, message: string, retain: number): Promise<unknown> =>
    client.query(
      `SELECT * FROM agora_append_posts(NULL, $1, ARRAY[$2], ARRAY[1]::bigint[], ARRAY[1], ARRAY[0]::bigint[],
         ARRAY['ann'], ARRAY[$3::bytea])`,
      [retain, channel, Buffer.from(message)],
    );
  try {
    await migrate(
      client,
      MIGRATIONS.filter((m) => m.version < 19),
    );
    // Stored as the processes before migration 19 store them: retaining 40, 71 appends leave 31 to trim.
    for (let i = 1; i <= 71; i++) await post('old', `m${i}`, 40);
    for (let i = 1; i <= 3; i++) await post('few', `f${i}`, 5);
    const [before] = (
      await client.query<{ n: string }>("SELECT count(*) AS n FROM agora_messages WHERE channel = 'old'")
    ).rows;
    assert.equal(Number(before.n), 71, 'the chunk awaiting its trim is in the table');
    assert.deepEqual(await migrate(client), [19]);
  } finally {
    client.release();
    await pool.end();
  }
  const s = await openStores({ ...defaultConfig(), databaseUrl: url, storeTimeoutMs: 2000 }, log, ['messages']);
  const db = new PgDatabase({ url, poolMax: 1, timeoutMs: 2000, log });
  try {
    assertRetentionHolds(await inTable(db, 'old'), 40);
    assertRetentionHolds(await inTable(db, 'few'), 3);
    const kept = await s.messages.range('old', 1, 100);
    assert.deepEqual(
      kept.map((m) => [m.messageid, m.message]),
      Array.from({ length: 40 }, (_, i) => [i + 32, `m${i + 32}`]),
    );
    assertStampsIncrease(kept, 'migrated');
    const next = await s.messages.append('old', 'ann', 'm72', 40);
    assert.equal(next.messageid, 72);
    assertRetentionHolds(await inTable(db, 'old'), 40);
    const after = await s.messages.range('old', 1, 100);
    assert.deepEqual(
      after.map((m) => m.messageid),
      Array.from({ length: 40 }, (_, i) => i + 33),
    );
    assertStampsIncrease(after, 'migrated, then new');
    assert.equal(after[39].lastModified, next.lastModified);
    // A process of the previous version calls the function with its eight arguments, as before.
    await db.query(
      `SELECT * FROM agora_append_posts(NULL, 40, ARRAY['old'], ARRAY[1]::bigint[], ARRAY[1], ARRAY[0]::bigint[],
         ARRAY['bo'], ARRAY['m73'::bytea])`,
      [],
    );
    assertRetentionHolds(await inTable(db, 'old'), 40);
    assert.deepEqual(
      (await s.messages.range('old', 73, 100)).map((m) => [m.messageid, m.username, m.message]),
      [[73, 'bo', 'm73']],
    );
    // The ring of 'few' had 3 rows, its window's: retaining 5, it grows.
    assert.equal((await s.messages.append('few', 'ann', 'f4', 5)).messageid, 4);
    assert.deepEqual(await inTable(db, 'few'), { retained: 4, untrimmed: 0, slots: 5 });
    for (const m of ['f5', 'f6']) await s.messages.append('few', 'ann', m, 5);
    assert.deepEqual(
      (await s.messages.range('few', 1, 10)).map((m) => m.message),
      ['f2', 'f3', 'f4', 'f5', 'f6'],
    );
    // A call told that the rings fit (a process that saw them take its retention) on a ring too small all the
    // same: it keeps as many as the ring has rows, then grows it.
    await db.query(
      `SELECT * FROM agora_append_posts(NULL, 8, ARRAY['few'], ARRAY[4]::bigint[], ARRAY[1, 1, 1, 1],
         ARRAY[3, 2, 1, 0]::bigint[], ARRAY['ann', 'ann', 'ann', 'ann'], ARRAY['g1', 'g2', 'g3', 'g4']::bytea[], false)`,
      [],
    );
    assert.deepEqual(await inTable(db, 'few'), { retained: 5, untrimmed: 0, slots: 8 });
    await s.messages.append('few', 'ann', 'g5', 8);
    assert.deepEqual(
      (await s.messages.range('few', 1, 20)).map((m) => m.message),
      ['f6', 'g1', 'g2', 'g3', 'g4', 'g5'],
    );
  } finally {
    await db.close();
    await s.close();
  }
}

async function unkeyedMigration(pg: Postgres): Promise<void> {
  const url = await pg.newDatabase();
  const pool = new Pool({ connectionString: url, max: 1 });
  const client = await pool.connect();
  try {
    await migrate(
      client,
      MIGRATIONS.filter((m) => m.version < 15),
    );
    // Stored as the processes before migration 15 store them (retention 3: messages 2..4 kept).
    await client.query(
      `SELECT * FROM agora_append_stamped_messages(ARRAY['c','c','c','c','d'], ARRAY['ann','ann','bo','bo','cy'],
         $1, ARRAY[NULL,NULL,NULL,NULL,NULL]::text[], 3, ARRAY[0,0,0,0,0]::bigint[], ARRAY[0,0,0,0,0]::bigint[])`,
      [['m1', 'm2', 'm3', 'm4', 'o1'].map((m) => Buffer.from(m))],
    );
    assert.deepEqual(
      await migrate(client),
      MIGRATIONS.filter((m) => m.version >= 15).map((m) => m.version),
    );
  } finally {
    client.release();
    await pool.end();
  }
  const s = await openStores({ ...defaultConfig(), databaseUrl: url, storeTimeoutMs: 2000 }, log, ['messages']);
  try {
    const appended = await Promise.all(['n5', 'n6', 'n7'].map((m) => s.messages.append('c', 'ann', m, 3)));
    assert.deepEqual(
      appended.map((a) => a.messageid),
      [5, 6, 7],
    );
    assert.equal((await s.messages.append('d', 'cy', 'o2', 3)).messageid, 2);
    const kept = await s.messages.range('c', 1, 10);
    assert.deepEqual(unstamped(kept), [
      { messageid: 5, username: 'ann', message: 'n5' },
      { messageid: 6, username: 'ann', message: 'n6' },
      { messageid: 7, username: 'ann', message: 'n7' },
    ]);
    assertStampsIncrease(kept, 'after migration 15');
    assert.deepEqual(
      appended.map((a) => a.lastModified),
      kept.map((m) => m.lastModified),
      'each append answers the stamp its message was stored with',
    );
    const db = new PgDatabase({ url, poolMax: 1, timeoutMs: 2000, log });
    try {
      const [row] = await db.query<{ last: string }>(
        "SELECT last_modified AS last FROM agora_message_counters WHERE channel = 'c'",
      );
      assertRetentionHolds(await inTable(db, 'c'), 3);
      assert.equal(Number(row.last), kept[2].lastModified, "the counter keeps the channel's last stamp");
    } finally {
      await db.close();
    }
  } finally {
    await s.close();
  }
}

/**
 * A channel's rows in the table: the messages it retains (from its counter's first_id on), the rows of older
 * ids its ring still holds (after its retention got smaller), and how many rows its ring has (migration 19).
 */
async function inTable(
  db: PgDatabase,
  channel: string,
): Promise<{ retained: number; untrimmed: number; slots: number }> {
  const [row] = await db.query<{ retained: string; untrimmed: string; slots: string }>(
    `SELECT count(*) FILTER (WHERE m.id >= k.first_id) AS retained, count(*) FILTER (WHERE m.id < k.first_id) AS untrimmed,
            min(k.slots) AS slots
       FROM agora_messages m JOIN agora_message_counters k ON k.channel = m.channel WHERE m.channel = $1`,
    [channel],
  );
  return { retained: Number(row.retained), untrimmed: Number(row.untrimmed), slots: Number(row.slots) };
}

/** The channel holds what it retains and nothing else, in a ring of `retain` rows. */
function assertRetentionHolds(found: { retained: number; untrimmed: number; slots: number }, retain: number): void {
  assert.deepEqual(found, { retained: retain, untrimmed: 0, slots: retain }, 'the channel retains what it should');
}

async function ringRetention(config: Config): Promise<void> {
  const s = await openStores(config, log, ['messages']);
  const db = new PgDatabase({ url: config.databaseUrl, poolMax: 1, timeoutMs: 2000, log });
  const ids = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const idsIn = async (first: number, last: number): Promise<number[]> =>
    (await s.messages.range('ring', first, last)).map((m) => m.messageid);
  try {
    // Retaining 40: the channel's ring has 40 rows, taken over in turn; nothing else stays.
    for (let i = 1; i <= 71; i++) await s.messages.append('ring', 'ann', `m${i}`, 40);
    assertRetentionHolds(await inTable(db, 'ring'), 40);
    assert.deepEqual(await idsIn(1, 100), ids(32, 71));
    assert.deepEqual(await idsIn(1, 31), [], 'what retention dropped is not read');
    // Conditional appends, and appends that go together in calls, take over the rows alike.
    for (let i = 72; i <= 103; i++) await s.messages.appendIf('ring', 'ann', `m${i}`, 40, { lastId: i - 1 });
    await Promise.all(ids(104, 200).map((i) => s.messages.append('ring', 'ann', `m${i}`, 40)));
    assertRetentionHolds(await inTable(db, 'ring'), 40);
    const kept = await s.messages.range('ring', 1, 1000);
    assert.deepEqual(
      kept.map((m) => [m.messageid, m.message]),
      ids(161, 200).map((i) => [i, `m${i}`]),
    );
    assertStampsIncrease(kept, 'the ring');
    // Ranges whose rows wrap round the ring's end (ids 161..200 lie on rows 1..39 and 0), and parts of it.
    assert.deepEqual(await idsIn(175, 185), ids(175, 185));
    assert.deepEqual(await idsIn(199, 1_000_000), [199, 200], 'row 39, then row 0');
    assert.deepEqual(await idsIn(-5, 161), [161]);
    assert.deepEqual(await idsIn(180, 180), [180]);
    assert.deepEqual(await idsIn(201, 300), []);
    // Retaining 100 now: the ring grows to 100 rows keeping the 40 messages; the next 99 fill it.
    await s.messages.append('ring', 'ann', 'm201', 100);
    assert.deepEqual(await inTable(db, 'ring'), { retained: 41, untrimmed: 0, slots: 100 });
    assert.deepEqual(await idsIn(1, 1000), ids(161, 201));
    for (let i = 202; i <= 300; i++) await s.messages.appendIf('ring', 'ann', `m${i}`, 100, { lastId: i - 1 });
    assertRetentionHolds(await inTable(db, 'ring'), 100);
    const grown = await s.messages.range('ring', 1, 1000);
    assert.deepEqual(
      grown.map((m) => [m.messageid, m.message]),
      ids(201, 300).map((i) => [i, `m${i}`]),
    );
    assertStampsIncrease(grown, 'the grown ring');
    assert.deepEqual(await idsIn(250, 251), [250, 251]);
    // Retaining 10 now: the ring keeps its 100 rows, of which only the last 10 messages are read.
    await s.messages.append('ring', 'ann', 'm301', 10);
    assert.deepEqual(await inTable(db, 'ring'), { retained: 10, untrimmed: 90, slots: 100 });
    assert.deepEqual(await idsIn(1, 1000), ids(292, 301));
    assert.deepEqual(await idsIn(200, 291), [], 'rows of older ids are not read');
    // Retaining 2: the keyed first message is taken over by the third.
    const key = { key: 'k1', now: Date.now(), ttlMs: 60_000 };
    const first = await s.messages.append('ring-keyed', 'ann', 'one', 2, key);
    await s.messages.append('ring-keyed', 'ann', 'two', 2);
    await s.messages.append('ring-keyed', 'ann', 'three', 2);
    assertRetentionHolds(await inTable(db, 'ring-keyed'), 2);
    assert.deepEqual(
      await s.messages.append('ring-keyed', 'ann', 'one', 2, key),
      { messageid: first.messageid, lastModified: 0 },
      'the replay of a key whose message retention dropped: its id, no stamp',
    );
    assert.deepEqual(
      await s.messages.appendIf('ring-keyed', 'ann', 'one', 2, { lastId: 3 }, key),
      { messageid: first.messageid, lastModified: 0 },
      'the same through a conditional append',
    );
    // A keyed call that grows the ring.
    const grownKeyed = await s.messages.append('ring-keyed', 'ann', 'four', 5, {
      key: 'k2',
      now: Date.now(),
      ttlMs: 60_000,
    });
    assert.equal(grownKeyed.messageid, 4);
    assert.deepEqual(await inTable(db, 'ring-keyed'), { retained: 3, untrimmed: 0, slots: 5 });
    assert.deepEqual(
      (await s.messages.range('ring-keyed', 1, 10)).map((m) => m.message),
      ['two', 'three', 'four'],
    );
  } finally {
    await db.close();
    await s.close();
  }
}

/**
 * Retaining 1, every append takes over the row of the message before it. An append holds the channel's
 * counter row, uncommitted, while a conditional append waits for it; once the first commits, the second must
 * take over the row of the message the first stored, which it did not see when it started, and leave nothing
 * else behind (when retention deleted trimmed chunks instead, the delete of a conditional append that had
 * waited missed that message, which stayed in the table for good).
 */
async function conditionalAfterWait(config: Config): Promise<void> {
  const s = await openStores(config, log, ['messages']);
  const db = new PgDatabase({ url: config.databaseUrl, poolMax: 1, timeoutMs: 2000, log });
  const holder = new Pool({ connectionString: config.databaseUrl, max: 1 });
  const first = await holder.connect();
  try {
    for (let i = 1; i <= 3; i++) await s.messages.append('raced', 'ann', `m${i}`, 1);
    assertRetentionHolds(await inTable(db, 'raced'), 1);
    await first.query('BEGIN');
    const [held] = (
      await first.query<{ out_last: string }>(
        `SELECT out_last[1]::text AS out_last FROM agora_append_posts(NULL, 1, ARRAY['raced'], ARRAY[1]::bigint[],
           ARRAY[1], ARRAY[0]::bigint[], ARRAY['ann'], ARRAY['m4'::bytea])`,
      )
    ).rows;
    assert.equal(held.out_last, '4');
    const second = s.messages.appendIf('raced', 'ann', 'm5', 1, { lastId: 4 });
    // It waits for the counter's row lock, which the first holds.
    await until(async () => {
      const [w] = await db.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
      );
      return Number(w.n) === 1;
    }, 'the conditional append waiting for the lock');
    await first.query('COMMIT');
    assert.equal((await second)?.messageid, 5);
    assertRetentionHolds(await inTable(db, 'raced'), 1);
    assert.deepEqual(
      (await s.messages.range('raced', 1, 10)).map((m) => m.message),
      ['m5'],
    );
  } finally {
    first.release();
    await holder.end();
    await db.close();
    await s.close();
  }
}

async function twoInstancesAppend(t: TestContext, config: Config): Promise<void> {
  const a = await openStores(config, log, ['messages']);
  const b = await openStores(config, log, ['messages']);
  try {
    const posts = Array.from({ length: 200 }, (_, i) =>
      idOf((i % 2 === 0 ? a : b).messages.append('shared', i % 2 === 0 ? 'a' : 'b', `p${i}`, 150)),
    );
    const ids = await Promise.all(posts);
    assert.deepEqual(
      [...ids].sort((x, y) => x - y),
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    const kept = await a.messages.range('shared', 1, 200);
    assert.deepEqual(
      kept.map((m) => m.messageid),
      Array.from({ length: 150 }, (_, i) => i + 51),
    );
    assertStampsIncrease(kept, 'two instances');
    const db = new PgDatabase({ url: config.databaseUrl, poolMax: 1, timeoutMs: 2000, log });
    t.after(() => db.close());
    assertRetentionHolds(await inTable(db, 'shared'), 150);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

async function twoInstancesGrow(config: Config): Promise<void> {
  const a = await openStores(config, log, ['messages']);
  const b = await openStores(config, log, ['messages']);
  const db = new PgDatabase({ url: config.databaseUrl, poolMax: 1, timeoutMs: 2000, log });
  const channels = ['grow-1', 'grow-2', 'grow-3'];
  const retains = [3, 50, 7, 100, 20];
  try {
    // Calls of either instance carry several channels, with retentions each larger than some ring.
    const posts = Array.from({ length: 240 }, (_, i) => {
      const s = i % 2 === 0 ? a : b;
      const channel = channels[i % 3];
      const message = `p${i}`;
      const retain = retains[Math.floor(i / 3) % retains.length];
      const appended =
        i % 11 === 10
          ? s.messages.appendIf(channel, 'ann', message, retain, { lastModified: 0 })
          : s.messages.append(channel, 'ann', message, retain);
      return appended.then((r) => ({ channel, message, id: r?.messageid }));
    });
    const done = await Promise.all(posts);
    for (const channel of channels) {
      const mine = done.filter((p) => p.channel === channel && p.id !== undefined);
      const stored = new Map(mine.map((p) => [p.id!, p.message]));
      assert.deepEqual(
        [...stored.keys()].sort((x, y) => x - y),
        Array.from({ length: mine.length }, (_, i) => i + 1),
        `${channel}: gap-free`,
      );
      const kept = await a.messages.range(channel, 1, 1000);
      assert.ok(kept.length >= 3, `${channel}: keeps at least the smallest retention`);
      assert.equal(kept[kept.length - 1].messageid, mine.length, `${channel}: up to its last id`);
      for (const [i, m] of kept.entries()) {
        assert.equal(m.message, stored.get(m.messageid), `${channel}: message ${m.messageid} is the one posted`);
        if (i > 0) assert.equal(m.messageid, kept[i - 1].messageid + 1);
      }
      const found = await inTable(db, channel);
      assert.equal(found.slots, 100, `${channel}: the ring grew to the largest retention`);
      assert.ok(found.retained + found.untrimmed <= found.slots);
    }
  } finally {
    await db.close();
    await Promise.all([a.close(), b.close()]);
  }
}

async function twoInstancesKeyed(config: Config): Promise<void> {
  const a = await openStores(config, log, ['messages']);
  const b = await openStores(config, log, ['messages']);
  try {
    const now = Date.now();
    // Ten keys, each sent six times by each instance, interleaved, some of them conditional (at 0:
    // refused unless the key is held), with keyless appends between.
    const posts = Array.from({ length: 140 }, (_, i) => {
      const s = i % 2 === 0 ? a : b;
      if (i % 7 === 6) return idOf(s.messages.append('two-keyed', 'ann', `plain ${i}`, 1000));
      const key = { key: `k${i % 10}`, now, ttlMs: 60_000 };
      return i % 3 === 0
        ? idIf(s.messages.appendIf('two-keyed', 'ann', `keyed ${i % 10}`, 1000, { lastId: 0 }, key))
        : idOf(s.messages.append('two-keyed', 'ann', `keyed ${i % 10}`, 1000, key));
    });
    const ids = await Promise.all(posts);
    const stored = await a.messages.range('two-keyed', 1, 1000);
    assert.deepEqual(
      stored.map((m) => m.messageid),
      Array.from({ length: stored.length }, (_, i) => i + 1),
      'gap-free',
    );
    for (let k = 0; k < 10; k++) {
      const mine = stored.filter((m) => m.message === `keyed ${k}`);
      assert.equal(mine.length, 1, `one message for k${k}`);
      for (const [i, id] of ids.entries())
        if (i % 7 !== 6 && i % 10 === k && id !== undefined) assert.equal(id, mine[0].messageid, `post ${i}`);
    }
    assert.equal(stored.filter((m) => m.message.startsWith('plain')).length, 20);
    assertStampsIncrease(stored, 'two instances, keyed and conditional');
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

async function twoInstancesCompare(config: Config): Promise<void> {
  const a = await openStores(config, log, ['channels', 'sessions', 'nodes']);
  const b = await openStores(config, log, ['channels', 'sessions', 'nodes']);
  try {
    const both = <T>(n: number, run: (s: typeof a, i: number) => Promise<T>): Promise<T[]> =>
      Promise.all(Array.from({ length: n }, (_, i) => run(i % 2 === 0 ? a : b, i)));
    const { version } = await a.channels.list();
    const creates = await both(10, (s, i) => s.channels.create(`two-${i}`, 'ann', version));
    assert.equal(creates.filter((r) => r.created).length, 1, 'one channel created');
    assert.ok((await b.channels.list()).version > version);
    const team = (await a.channels.create('two-team', 'ann')).lastModified!;
    const changes = await both(10, (s, i) =>
      s.channels.setPermissionsIfVersion('two-team', { read: [`account:u${i}`], write: ['account:ann'] }, team),
    );
    assert.equal(changes.filter((r) => r.done).length, 1, "one change of a channel's permissions");
    const v = (await a.sessions.create({ sesskey: 4242, username: 'ann', lastUsed: Date.now() }))!;
    assert.equal(
      (await both(10, (s) => s.sessions.deleteIfVersion(4242, v))).filter((r) => r.done).length,
      1,
      'one session delete',
    );
    const node: NodeRecord = {
      id: 'two',
      owner: 'ann',
      name: 'two',
      image: 'echo',
      size: 'small',
      command: '',
      status: 'ACTIVE',
      task: '',
      reason: '',
      host: '',
      port: 0,
      pid: 0,
      exitCode: -1,
      signal: '',
      createdAt: 1,
      updatedAt: 1,
      version: 0,
      permissions: ownerOnly('ann'),
    };
    assert.equal(await a.nodes.create(node, 10), 'created');
    const v1 = (await a.nodes.get('two'))!.version;
    const writes = await both(10, (s, i) => s.nodes.putIfVersion({ ...node, name: `n${i}` }, v1));
    assert.equal(writes.filter((r) => r.done).length, 1, 'one node write');
    assert.equal((await b.nodes.get('two'))?.version, writes.find((r) => r.done)?.version);
    // Two instances writing one owner's nodes at once, within one millisecond: every stamp distinct.
    const puts = await both(40, (s, i) => s.nodes.put({ ...node, id: 'two', name: `p${i}` }));
    assert.equal(new Set(puts).size, 40, 'forty writes, forty timestamps');
    assert.equal((await a.nodes.owned('ann')).version, Math.max(...puts), "the list's is the last of them");
    const channels = await both(20, (s, i) => s.channels.create(`stamp-${i}`, 'ann'));
    assert.equal(new Set(channels.map((c) => c.version)).size, 20, 'twenty channels, twenty timestamps');
    const list = (await a.nodes.owned('ann')).version;
    const creates2 = await both(10, (s, i) => s.nodes.create({ ...node, id: `two-${i}` }, 100, list));
    assert.equal(creates2.filter((r) => r === 'created').length, 1, 'one node created at one list version');
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

async function postgresOutage(t: TestContext, pg: Postgres, config: Config): Promise<void> {
  const s = await openStores(config, log, ['channels']);
  t.after(() => s.close());
  assert.equal(await s.channels.exists('general'), true);
  await pg.stop();
  await assert.rejects(
    s.channels.exists('general'),
    (e: unknown) => isAgoraError(e) && e.code === 'AGORA_ERR_STORE_UNAVAILABLE' && e.status === 503,
  );
  const [health] = await s.health();
  assert.equal(health.ok, false);
  assert.equal(health.backend, 'postgres');
  assert.deepEqual(await s.checks().run(Date.now() + 3000), { postgres: false });
  await pg.restart();
  await until(() => s.channels.exists('general'), 'the pool to reconnect');
}

test('Redis session adapter keeps the contract; outages', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const config = { ...defaultConfig(), redisUrl: redis.url, redisPrefix: 'test1:', storeTimeoutMs: 2000 };
  assert.equal(resolve('sessions', config), 'redis');
  assert.equal(resolve('failures', config), 'redis', 'failed logons go with the sessions');
  assert.equal(resolve('users', config), 'memory', 'Redis holds sessions and failed logons only');
  await contract(t, () => openStores(config, log, KINDS));

  await t.test('keys carry the prefix and a TTL refreshed on use', async () => {
    const s = await openStores({ ...config, redisPrefix: 'pfx:', sessionIdleS: 60 }, log, ['sessions']);
    const IORedis = (await import('ioredis')).default;
    const raw = new IORedis(redis.url);
    try {
      await s.sessions.create({ sesskey: 77, username: 'ann', lastUsed: Date.now() });
      const ttl = await raw.pttl('pfx:session:77');
      assert.ok(ttl > 60_000 && ttl <= 120_000, `TTL ${ttl}`);
      await raw.pexpire('pfx:session:77', 10_000);
      await s.sessions.touch([77], Date.now() + 1, 60_000);
      assert.ok((await raw.pttl('pfx:session:77')) > 60_000, 'a touch refreshes the TTL');
      assert.deepEqual((await raw.keys('*')).filter((k) => !k.startsWith('test1:')).sort(), [
        'pfx:session-version',
        'pfx:session:77',
        'pfx:sessions',
      ]);
    } finally {
      raw.disconnect();
      await s.close();
    }
  });

  await t.test('Redis down: AGORA_ERR_STORE_UNAVAILABLE within the deadline, health says so', async () => {
    const s = await openStores(config, log, ['sessions']);
    t.after(() => s.close());
    await redis.stop();
    await assert.rejects(
      s.sessions.get(1),
      (e: unknown) => isAgoraError(e) && e.code === 'AGORA_ERR_STORE_UNAVAILABLE',
    );
    const [health] = await s.health();
    assert.equal(health.ok, false);
  });
});

test('a service whose database cannot be reached exits 1 at start, naming AGORA_ERR_STORE_UNAVAILABLE', async () => {
  const port = await freePort(); // nothing listens there
  const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [entry('services/channels/main.js')],
      {
        env: {
          ...process.env,
          AGORA_DATABASE_URL: `postgres://agora@127.0.0.1:${port}/agora`,
          AGORA_STORE_TIMEOUT_MS: '2000',
          AGORA_CHANNELS_GRPC_URL: '127.0.0.1:0',
          AGORA_BUS_URL: 'tcp://127.0.0.1:1',
        },
        timeout: 30_000,
      },
      (_err, out) => resolve({ code: child.exitCode, stdout: out }),
    );
  });
  assert.equal(code, 1);
  const fatal = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string; err?: { code?: string } })
    .find((l) => l.level === 60);
  assert.equal(fatal?.msg, 'failed to start');
  assert.equal(fatal?.err?.code, 'AGORA_ERR_STORE_UNAVAILABLE');
});

/**
 * What the auth fan-out relies on (lib/fanout.ts): one order for every subscriber,
 * the publisher included; `onGap` when the subscription breaks; delivery again once the
 * server is back, without help.
 */
async function broadcastContract(
  open: () => Broadcast,
  outage: { stop(): Promise<void>; restart(): Promise<void> },
): Promise<void> {
  const [a, b] = [open(), open()];
  const got: Record<'a' | 'b', string[]> = { a: [], b: [] };
  const gaps: string[] = [];
  try {
    await a.subscribe({ onMessage: (m) => got.a.push(m), onGap: () => gaps.push('a') });
    await b.subscribe({ onMessage: (m) => got.b.push(m), onGap: () => gaps.push('b') });
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).publish(`m${i}`)));
    await until(async () => got.a.length === 20 && got.b.length === 20, 'every message at both subscribers');
    assert.deepEqual(got.a, got.b, 'one order for all');
    // Published at once, the same text several times: each is delivered, in order.
    const same = ['same', 'same', 'other', 'same', 'other'];
    await Promise.all(same.map((m) => a.publish(m)));
    await until(async () => got.a.length === 25 && got.b.length === 25, 'every repeated message at both subscribers');
    assert.deepEqual(got.a.slice(20), same);
    assert.deepEqual(got.b.slice(20), same);
    await outage.stop();
    await until(async () => gaps.includes('a') && gaps.includes('b'), 'both subscribers to report the gap');
    await outage.restart();
    await until(
      async () => {
        await a.publish('again').catch(() => undefined);
        return got.b.includes('again') && got.a.includes('again');
      },
      'delivery to resume after the restart',
      30_000,
      200,
    );
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

/** A payload PostgreSQL refuses (8000 bytes or more) fails alone: the messages published with it go out. */
async function refusedPayloadAlone(db: PgDatabase): Promise<void> {
  const topic = new PgBroadcast(db, 'agora_test_long');
  const got: string[] = [];
  try {
    await topic.subscribe({ onMessage: (m) => got.push(m), onGap: () => undefined });
    const sent = await Promise.allSettled(['before', 'é'.repeat(4000), 'after'].map((m) => topic.publish(m)));
    assert.deepEqual(
      sent.map((s) => s.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    await until(async () => got.length === 2, 'the two short messages');
    assert.deepEqual(got, ['before', 'after']);
  } finally {
    await topic.close();
  }
}

test('PostgreSQL and Redis broadcasts: one order for all, a gap reported on an outage, delivery again after', async (t) => {
  const pg = await startPostgres(t);
  const redis = await startRedis(t);
  if (pg === undefined || redis === undefined) return;
  const db = new PgDatabase({ url: await pg.newDatabase(), poolMax: 2, timeoutMs: 2000, log });
  t.after(() => db.close());
  await broadcastContract(() => new PgBroadcast(db, 'agora_test'), pg);
  await refusedPayloadAlone(db);
  const conn = new RedisConnection({ url: redis.url, prefix: 'bc:', timeoutMs: 2000, log });
  t.after(() => conn.close());
  await broadcastContract(() => new RedisBroadcast(conn, 'test'), redis);
});
