/**
 * The permissions rule of lib/permissions.ts (docs/API-V1.md "Permissions"): principals,
 * write implies read, system.Everyone and system.Authenticated, the keeper always a writer,
 * Kinto's PATCH of each kind given.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  accountOf,
  AUTHENTICATED,
  canRead,
  canWrite,
  EVERYONE,
  isPrincipal,
  normalized,
  ownerOnly,
  patched,
  permissionsProblem,
  principalsOf,
  publicChannel,
} from '../../lib/permissions';

const ANN = principalsOf('ann');
const BOB = principalsOf('bob');
/** What a caller without an account would hold. */
const ANONYMOUS = [EVERYONE];

test('a signed-in user holds its account, system.Authenticated and system.Everyone', () => {
  assert.deepEqual(ANN, ['account:ann', 'system.Authenticated', 'system.Everyone']);
  assert.equal(accountOf('ann@example.com'), 'account:ann@example.com');
});

test('write implies read; read does not imply write', () => {
  const p = { read: ['account:bob'], write: ['account:ann'] };
  assert.deepEqual([canRead(p, ANN), canWrite(p, ANN)], [true, true], 'a writer reads');
  assert.deepEqual([canRead(p, BOB), canWrite(p, BOB)], [true, false], 'a reader only reads');
  const cy = principalsOf('cy');
  assert.deepEqual([canRead(p, cy), canWrite(p, cy)], [false, false], 'anyone else neither');
});

test('system.Authenticated grants every signed-in user; system.Everyone anyone', () => {
  const authenticated = { read: [AUTHENTICATED], write: [] };
  assert.equal(canRead(authenticated, BOB), true);
  assert.equal(canRead(authenticated, ANONYMOUS), false, 'not who is not signed in');
  const everyone = { read: [], write: [EVERYONE] };
  assert.deepEqual([canRead(everyone, ANONYMOUS), canWrite(everyone, ANONYMOUS)], [true, true]);
  assert.equal(canWrite(everyone, BOB), true);
});

test('an account is matched exactly: names are case-sensitive', () => {
  const p = { read: ['account:Ann'], write: [] };
  assert.equal(canRead(p, ANN), false);
  assert.equal(canRead(p, principalsOf('Ann')), true);
});

test('defaults: a channel is public with its creator a writer; a node is its owner alone', () => {
  const channel = publicChannel('ann');
  assert.deepEqual(channel, { read: ['system.Authenticated'], write: ['system.Authenticated', 'account:ann'] });
  assert.equal(canWrite(channel, BOB), true);
  const node = ownerOnly('ann');
  assert.deepEqual(node, { read: [], write: ['account:ann'] });
  assert.equal(canRead(node, BOB), false);
});

test('normalized: no duplicates, a stable order, the keeper always a writer', () => {
  assert.deepEqual(
    normalized({ read: ['account:zed', EVERYONE, 'account:bob', 'account:bob'], write: [AUTHENTICATED] }, 'ann'),
    { read: ['system.Everyone', 'account:bob', 'account:zed'], write: ['system.Authenticated', 'account:ann'] },
  );
  assert.deepEqual(normalized({}, 'ann'), { read: [], write: ['account:ann'] });
});

test("patched: each kind given is replaced, the other kept, the keeper and the editor writers (Kinto's PATCH)", () => {
  const current = { read: ['account:cy'], write: ['account:ann', 'account:bob'] };
  assert.deepEqual(patched(current, { read: [AUTHENTICATED] }, 'ann', 'ann'), {
    read: [AUTHENTICATED],
    write: ['account:ann', 'account:bob'],
  });
  assert.deepEqual(patched(current, { write: [] }, 'ann', 'ann'), { read: ['account:cy'], write: ['account:ann'] });
  assert.deepEqual(patched(current, { write: [] }, 'ann', 'bob'), {
    read: ['account:cy'],
    write: ['account:ann', 'account:bob'],
  });
});

test('principals: the two system ones and account:<username>, nothing else', () => {
  for (const ok of [
    'system.Everyone',
    'system.Authenticated',
    'account:ann',
    'account:a.b-c_d@e',
    `account:${'x'.repeat(64)}`,
  ])
    assert.equal(isPrincipal(ok), true, ok);
  for (const bad of [
    'ann',
    'account:',
    'account:a b',
    `account:${'x'.repeat(65)}`,
    'system.everyone',
    'group:x',
    7,
    null,
  ])
    assert.equal(isPrincipal(bad), false, String(bad));
});

test('permissionsProblem: the shape a client may send, and why anything else is refused', () => {
  assert.equal(permissionsProblem({}), null);
  assert.equal(permissionsProblem({ read: ['account:ann'], write: [EVERYONE] }), null);
  const refusals: Array<[unknown, RegExp]> = [
    [null, /must be an object/],
    [['account:ann'], /must be an object/],
    [{ read: 'account:ann' }, /read must be a list/],
    [{ delete: [] }, /"delete": only read and write/],
    [{ write: ['bob'] }, /write has "bob"/],
    [{ read: [3] }, /no string/],
    [{ read: Array.from({ length: 65 }, (_, i) => `account:u${i}`) }, /65 principals, at most 64/],
  ];
  for (const [value, why] of refusals) assert.match(permissionsProblem(value) ?? 'null', why, JSON.stringify(value));
});
