/**
 * bench/soak-snapshots.ts: two heap snapshots compared by constructor, as the soak's investigation
 * of a growing process uses them (docs/RELIABILITY.md "Soak").
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compare, kinds } from '../../bench/soak-snapshots';

/** A snapshot in V8's format with `nodes` given as [type, name, self_size] triples. */
function snapshot(nodes: Array<[string, string, number]>): string {
  const types = ['hidden', 'object', 'string', 'closure', 'code'];
  const strings = [...new Set(nodes.map((n) => n[1]))];
  return JSON.stringify({
    snapshot: { meta: { node_fields: ['type', 'name', 'id', 'self_size'], node_types: [types, 'string'] } },
    nodes: nodes.flatMap(([type, name, size], id) => [types.indexOf(type), strings.indexOf(name), id, size]),
    strings,
  });
}

test('kinds counts objects and closures by constructor, the rest by node type', () => {
  const k = kinds(
    snapshot([
      ['object', 'Map', 80],
      ['object', 'Map', 80],
      ['object', 'Socket', 200],
      ['closure', 'onData', 32],
      ['string', 'hello', 24],
      ['string', 'world', 24],
    ]),
  );
  assert.deepEqual(Object.fromEntries(k), {
    'object:Map': { count: 2, bytes: 160 },
    'object:Socket': { count: 1, bytes: 200 },
    'closure:onData': { count: 1, bytes: 32 },
    string: { count: 2, bytes: 48 },
  });
});

test('compare lists the kinds by the growth of their bytes, after the totals', () => {
  const before = kinds(snapshot([['object', 'Map', 80]]));
  const after = kinds(
    snapshot([
      ['object', 'Map', 80],
      ['object', 'Entry', 40],
      ['object', 'Entry', 40],
      ['object', 'Entry', 40],
      ['object', 'Map', 80],
    ]),
  );
  const rows = compare(before, after, 2).split('\n');
  assert.equal(rows[2], '| (all) | 1 | 5 | 4 | 0.1 | 0.3 | 0.2 |');
  assert.match(rows[3], /^\| object:Entry \| 0 \| 3 \| 3 \|/);
  assert.match(rows[4], /^\| object:Map \| 1 \| 2 \| 1 \|/);
  assert.equal(rows.length, 5);
});
