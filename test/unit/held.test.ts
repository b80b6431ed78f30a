/**
 * The broker's index of the requests a worker holds (lib/bus/held.ts): a REPLY finds its
 * request by client and msgid, whatever the number held and whoever chose the routing id.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeldRequests, type HeldRequest } from '../../lib/bus/held';

interface Req extends HeldRequest {
  tag: string;
}

const generated = (n: number): Buffer => Buffer.from([0, 0x80, 0, 0, n]); // as a ROUTER makes them
const chosen = (name: string): Buffer => Buffer.from(name); // a peer's own Identity
const req = (client: Buffer, msgid: number | null, tag: string): Req => ({ client, msgid, tag, next: undefined });

test('a request is found by its client and msgid, from a copy of the client id, and only once', () => {
  const held = new HeldRequests<Req>();
  held.add(req(generated(1), 7, 'a7'));
  held.add(req(generated(2), 7, 'b7'));
  held.add(req(chosen('worker-x'), 7, 'x7'));
  held.add(req(Buffer.from([0, 1, 2]), 7, 'short7')); // neither shape: a string key
  assert.equal(held.size, 4);
  assert.equal(held.take(Buffer.from(generated(2)), 7)?.tag, 'b7');
  assert.equal(held.take(generated(2), 7), undefined, 'taken already');
  assert.equal(held.take(generated(1), 8), undefined, 'no such msgid');
  assert.equal(held.take(generated(3), 7), undefined, 'no such client');
  assert.equal(held.take(chosen('worker-x'), 7)?.tag, 'x7');
  assert.equal(held.take(Buffer.from([0, 1, 2]), 7)?.tag, 'short7');
  assert.equal(held.size, 1);
  assert.equal(held.only()?.tag, 'a7');
});

test("requests sharing a key (a client's notifications) are each taken once", () => {
  const held = new HeldRequests<Req>();
  for (const tag of ['n1', 'n2', 'n3']) held.add(req(generated(1), null, tag));
  held.add(req(generated(1), 0, 'zero'));
  const taken = [held.take(generated(1), null), held.take(generated(1), null), held.take(generated(1), null)].map(
    (r) => r?.tag,
  );
  assert.deepEqual([...taken].sort(), ['n1', 'n2', 'n3']);
  assert.equal(held.take(generated(1), null), undefined);
  assert.equal(held.take(generated(1), 0)?.tag, 'zero', 'msgid 0 is not "no msgid"');
  assert.equal(held.size, 0);
  assert.equal(held.only(), undefined);
});

test('1024 held: each taken by its own key; takeAll empties the rest', () => {
  const held = new HeldRequests<Req>();
  for (let i = 0; i < 1024; i++) held.add(req(generated(i % 8), i, `r${i}`));
  for (let i = 0; i < 1024; i += 2) assert.equal(held.take(generated(i % 8), i)?.tag, `r${i}`);
  assert.equal(held.size, 512);
  const rest = held.takeAll();
  assert.deepEqual(rest.map((r) => r.tag).sort(), Array.from({ length: 512 }, (_, k) => `r${2 * k + 1}`).sort());
  assert.ok(rest.every((r) => r.next === undefined));
  assert.equal(held.size, 0);
  assert.equal(held.take(generated(1), 1), undefined);
});
