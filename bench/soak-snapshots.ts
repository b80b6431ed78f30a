/**
 * `node dist/bench/soak-snapshots.js BEFORE.heapsnapshot AFTER.heapsnapshot [rows]`: what grew between
 * two V8 heap snapshots of one process (as `npm run soak -- --snapshots …` writes them): live objects
 * counted by constructor (or, for strings, arrays, code and the like, by V8's node type), their count
 * and shallow size in each, sorted by the growth of their size. A JavaScript leak shows as a
 * constructor whose count climbs between the two; memory V8 or the allocator keep does not show here.
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** One row: objects of a kind, and their shallow bytes. */
export interface Kind {
  count: number;
  bytes: number;
}

/** Kinds of the node types that are objects with a constructor; the rest are grouped by type. */
const BY_NAME = new Set(['object', 'closure', 'regexp']);

/** Every kind of node of a snapshot's text, keyed `type:name` (`object:Map`, `string`, `code`, …). */
export function kinds(text: string): Map<string, Kind> {
  const snap = JSON.parse(text) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const out = new Map<string, Kind>();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + typeAt]];
    const key = BY_NAME.has(type) ? `${type}:${snap.strings[snap.nodes[i + nameAt]]}` : type;
    const k = out.get(key) ?? { count: 0, bytes: 0 };
    k.count++;
    k.bytes += snap.nodes[i + sizeAt];
    out.set(key, k);
  }
  return out;
}

/** The table of the `rows` kinds whose bytes grew most from `before` to `after` (and the totals). */
export function compare(before: Map<string, Kind>, after: Map<string, Kind>, rows = 25): string {
  const keys = new Set([...before.keys(), ...after.keys()]);
  const zero: Kind = { count: 0, bytes: 0 };
  const diff = [...keys].map((key) => ({ key, a: before.get(key) ?? zero, b: after.get(key) ?? zero }));
  diff.sort((x, y) => y.b.bytes - y.a.bytes - (x.b.bytes - x.a.bytes));
  const total = (m: Map<string, Kind>): Kind =>
    [...m.values()].reduce((s, k) => ({ count: s.count + k.count, bytes: s.bytes + k.bytes }), zero);
  const kb = (n: number): string => (n / 1024).toFixed(1);
  const line = (key: string, a: Kind, b: Kind): string =>
    `| ${key} | ${a.count} | ${b.count} | ${b.count - a.count} | ${kb(a.bytes)} | ${kb(b.bytes)} | ${kb(b.bytes - a.bytes)} |`;
  return [
    '| kind | count before | after | Δ | KB before | after | Δ KB |',
    '|---|---:|---:|---:|---:|---:|---:|',
    line('(all)', total(before), total(after)),
    ...diff.slice(0, rows).map((d) => line(d.key, d.a, d.b)),
  ].join('\n');
}

if (require.main === module) {
  const [before, after, rows] = process.argv.slice(2);
  if (before === undefined || after === undefined) {
    process.stderr.write('usage: node dist/bench/soak-snapshots.js BEFORE.heapsnapshot AFTER.heapsnapshot [rows]\n');
    process.exit(2);
  }
  const read = (file: string): Map<string, Kind> => kinds(readFileSync(file, 'utf8'));
  process.stdout.write(`${compare(read(before), read(after), rows === undefined ? 25 : Number(rows))}\n`);
}
