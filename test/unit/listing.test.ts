/**
 * gateway/v1/listing.ts and conditional.ts: the pure parts of lists and versions
 * (filters, sort, cursors, ETag matching), with hand-made records.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { etagOf, tagMatches, versionTag } from '../../gateway/v1/conditional';
import { applyQuery, type ListSpec } from '../../gateway/v1/listing';

const SPEC: ListSpec = {
  fields: { id: 'integer', who: 'string', text: 'string' },
  id: 'id',
  defaultSort: ['id'],
  since: 'id',
};
const RECORDS = Array.from({ length: 23 }, (_, i) => ({
  id: i + 1,
  who: ['ann', 'bob', 'cy'][i % 3],
  text: i % 4 === 0 ? `Hello ${i}` : `bye ${i}`,
}));

const ids = (query: Record<string, unknown>, max = 100): number[] =>
  applyQuery(RECORDS, query, SPEC, max).records.map((r) => r.id);

test('filters: equal, bounds, in, has, like with * and case folding, since/before', () => {
  assert.deepEqual(ids({ who: 'cy', max_id: 9 }), [3, 6, 9]);
  assert.deepEqual(ids({ min_id: 21 }), [21, 22, 23]);
  assert.deepEqual(ids({ in_id: '2,4,99' }), [2, 4]);
  assert.deepEqual(ids({ in_who: 'ann,cy', max_id: 4 }), [1, 3, 4]);
  assert.deepEqual(ids({ has_who: false }), []);
  assert.deepEqual(ids({ like_text: 'HELLO', max_id: 9 }), [1, 5, 9]);
  assert.deepEqual(ids({ like_text: 'h*1', max_id: 20 }), [13, 17]);
  assert.deepEqual(ids({ _since: 20, _before: 23 }), [21, 22]);
  assert.throws(() => ids({ in_id: '1,x' }), { code: 'AGORA_ERR_HTTP_INVALID_PARAMS' });
  assert.throws(() => ids({ colour: 'red' }), { code: 'AGORA_ERR_HTTP_INVALID_PARAMS' });
});

test('filters of the Kinto protocol: not, lt, gt, exclude, contains, contains_any; _since as an ETag', () => {
  assert.deepEqual(ids({ not_who: 'ann', max_id: 6 }), [2, 3, 5, 6]);
  assert.deepEqual(ids({ gt_id: 20, lt_id: 23 }), [21, 22]);
  assert.deepEqual(ids({ exclude_who: 'ann,bob', max_id: 9 }), [3, 6, 9]);
  assert.deepEqual(ids({ contains_text: 'Hello,1', max_id: 20 }), [13, 17]);
  assert.deepEqual(ids({ contains_text: 'hello' }), [], 'case kept');
  assert.deepEqual(ids({ contains_any_text: 'Hello 4,bye 3', max_id: 6 }), [4, 5]);
  assert.deepEqual(ids({ _since: '"20"', _before: '"23"' }), [21, 22]);
  assert.throws(() => ids({ exclude_id: '1,x' }), { code: 'AGORA_ERR_HTTP_INVALID_PARAMS' });
  assert.throws(() => ids({ not_colour: 'red' }), { code: 'AGORA_ERR_HTTP_INVALID_PARAMS' });
});

test('sort: several keys, descending, the id breaking ties; an unknown field is refused', () => {
  assert.deepEqual(ids({ _sort: '-who,-id', max_id: 6 }), [6, 3, 5, 2, 4, 1]);
  assert.deepEqual(ids({ _sort: 'who', max_id: 6 }), [1, 4, 2, 5, 3, 6]);
  assert.throws(() => ids({ _sort: 'colour' }), { code: 'AGORA_ERR_HTTP_INVALID_PARAMS' });
});

test('pages: the cursor walks every record once; the limit is capped; a foreign cursor is refused', () => {
  for (const query of [{ _limit: 5 }, { _limit: 4, _sort: '-who' }, { _limit: 3, like_text: 'bye' }]) {
    const seen: number[] = [];
    let q: Record<string, unknown> = query;
    for (let pages = 0; pages < 20; pages++) {
      const page = applyQuery(RECORDS, q, SPEC, 100);
      seen.push(...page.records.map((r) => r.id));
      if (page.next === undefined) break;
      q = { ...query, _token: page.next };
    }
    assert.deepEqual(seen, ids({ ...query, _limit: 100 }), JSON.stringify(query));
  }
  assert.equal(applyQuery(RECORDS, { _limit: 50 }, SPEC, 7).records.length, 7);
  assert.equal(applyQuery(RECORDS, { who: 'ann' }, SPEC, 7).total, 8);
  const next = applyQuery(RECORDS, { _limit: 2, who: 'ann' }, SPEC, 100).next as string;
  assert.throws(() => applyQuery(RECORDS, { _limit: 2, who: 'bob', _token: next }, SPEC, 100), {
    code: 'AGORA_ERR_HTTP_INVALID_PARAMS',
  });
  assert.throws(() => applyQuery(RECORDS, { _token: 'bm9wZQ' }, SPEC, 100), { code: 'AGORA_ERR_HTTP_INVALID_PARAMS' });
});

test('ETags: strong, stable digests; If-Match / If-None-Match lists, * and W/', () => {
  assert.equal(etagOf({ a: 1 }), etagOf({ a: 1 }));
  assert.notEqual(etagOf({ a: 1 }), etagOf({ a: 2 }));
  assert.match(etagOf([]), /^"[A-Za-z0-9_-]{22}"$/);
  assert.equal(versionTag(7), '"7"');
  assert.ok(tagMatches('"1", "7"', '"7"'));
  assert.ok(tagMatches('W/"7"', '"7"'));
  assert.ok(tagMatches('*', '"7"'));
  assert.ok(!tagMatches('*', undefined), '* names no resource that does not exist');
  assert.ok(!tagMatches('"70"', '"7"'));
});

test("pages over tombstones of a list whose id field is not `id` (routes' source): each walked once", () => {
  const spec: ListSpec = {
    fields: { source: 'string', created_at: 'integer', last_modified: 'integer' },
    id: 'source',
    defaultSort: ['created_at'],
    since: 'last_modified',
  };
  const live = [1, 2, 3].map((i) => ({ id: `r${i}`, source: `r${i}`, created_at: i, last_modified: 10 + i }));
  const gone = [1, 2, 3, 4, 5].map((i) => ({ id: `t${i}`, last_modified: 20 + i, deleted: true }));
  const all = [...live, ...gone];
  const seen: string[] = [];
  let q: Record<string, unknown> = { _since: '0', _limit: 2 };
  for (let pages = 0; pages < 10; pages++) {
    const page = applyQuery(all, q, spec, 100);
    seen.push(...page.records.map((r) => r.id));
    if (page.next === undefined) break;
    q = { _since: '0', _limit: 2, _token: page.next };
  }
  // Tombstones have no created_at: they sort first, among themselves by their id.
  assert.deepEqual(seen, ['t1', 't2', 't3', 't4', 't5', 'r1', 'r2', 'r3']);
});
