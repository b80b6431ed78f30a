/**
 * lib/request-id.ts: a request's id is the caller's sane X-Request-Id, else a new version 4 UUID.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { newUuid, requestIdOf } from '../../lib/request-id';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('new ids are version 4 UUIDs, all different, every hex digit used in every random place', () => {
  const n = 3000; // more than one batch of random bytes
  const ids = Array.from({ length: n }, newUuid);
  for (const id of ids) assert.match(id, V4);
  assert.equal(new Set(ids).size, n);
  // A dozen of the 30 random places (not a dash, the version, the variant's first digit), from every group,
  // each take all 16 digits over 3000 ids: none is stuck.
  for (const place of [0, 1, 7, 9, 12, 15, 17, 20, 22, 24, 30, 35]) {
    assert.equal(new Set(ids.map((id) => id[place])).size, 16, `place ${place}`);
  }
  assert.deepEqual(new Set(ids.map((id) => id[19])), new Set(['8', '9', 'a', 'b']), 'the variant');
});

test('a sane X-Request-Id is kept; an odd one, or none, gets a new UUID', () => {
  const of = (header?: string | string[]): string =>
    requestIdOf({ headers: header === undefined ? {} : { 'x-request-id': header } } as IncomingMessage);
  assert.equal(of('abc-123_.:@/+='), 'abc-123_.:@/+=');
  for (const odd of [undefined, '', 'a b', 'x'.repeat(129), 'é', ['a', 'b']]) assert.match(of(odd), V4, String(odd));
});
