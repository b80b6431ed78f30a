/**
 * lib/hosts.ts: node names as DNS labels, the label of an owner (its own, or a stable digest),
 * node hosts and URLs, route sources in their one form, and whose zone a host is in.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  nodeHost,
  nodeHostParts,
  nodeLabelProblem,
  nodeUrl,
  normalizeHost,
  ownerLabel,
  ownerZone,
  zoneProblem,
} from '../../lib/hosts';

const DOMAIN = 'nodes.localhost';

test('a node name is a lower-case DNS label of at most 63 characters', () => {
  for (const name of ['web', 'web-2', '0', 'a'.repeat(63), 'x1-y2']) assert.equal(nodeLabelProblem(name), null, name);
  const refused: Array<[unknown, RegExp]> = [
    ['', /required/],
    [undefined, /required/],
    ['a'.repeat(64), /at most 63/],
    ['Web', /lower-case/],
    ['web_2', /lower-case/],
    ['web.2', /lower-case/],
    ['-web', /start or end/],
    ['web-', /start or end/],
    ['no spaces', /name "no spaces" may only hold/],
  ];
  for (const [name, why] of refused) assert.match(String(nodeLabelProblem(name)), why, String(name));
});

test("an owner's label: the username when it is a lower-case label without --, else u-- and a digest", () => {
  assert.equal(ownerLabel('alice'), 'alice');
  assert.equal(ownerLabel('bob-2'), 'bob-2');
  const odd = ['Alice', 'bob.smith', 'ann@example.com', 'a_b', 'x--y', '-ab', 'a'.repeat(64)];
  const labels = odd.map(ownerLabel);
  for (const [i, label] of labels.entries()) {
    assert.match(label, /^u--[a-z2-7]{20}$/, odd[i]);
    assert.equal(ownerLabel(odd[i]), label, 'the same username, the same label');
  }
  assert.equal(new Set(labels).size, odd.length, 'two usernames, two labels');
  assert.notEqual(ownerLabel('Alice'), ownerLabel('alice'), 'usernames are case-sensitive, so are labels');
  // A plain label never holds "--": no username is taken for another's digest.
  assert.equal(ownerLabel(labels[0]), ownerLabel(labels[0]));
  assert.notEqual(ownerLabel(labels[0]), labels[0]);
});

test('node hosts and URLs', () => {
  assert.equal(nodeHost('web', 'alice', DOMAIN), 'web.alice.nodes.localhost');
  assert.equal(nodeUrl('web', 'alice', DOMAIN, 8000), 'http://web.alice.nodes.localhost:8000/');
  assert.equal(nodeUrl('web', 'alice', 'example.com', 80), 'http://web.alice.example.com/');
  assert.equal(nodeUrl('web', 'Ann', DOMAIN, 8000), `http://web.${ownerLabel('Ann')}.nodes.localhost:8000/`);
  assert.equal(nodeUrl('Web_1', 'alice', DOMAIN, 8000), '', 'a name that is no label has no URL');
  assert.equal(ownerZone('alice', DOMAIN), 'alice.nodes.localhost');
  assert.deepEqual(nodeHostParts('web.alice.nodes.localhost', DOMAIN), { name: 'web', owner: 'alice' });
  assert.equal(nodeHostParts('alice.nodes.localhost', DOMAIN), undefined);
  assert.equal(nodeHostParts('a.web.alice.nodes.localhost', DOMAIN), undefined);
  assert.equal(nodeHostParts('web.alice.example.com', DOMAIN), undefined);
});

test('route sources: one lower-case form; no port, path, wildcard or empty label', () => {
  assert.deepEqual(normalizeHost('Web.Example.COM.'), { host: 'web.example.com' });
  assert.deepEqual(normalizeHost('localhost'), { host: 'localhost' });
  for (const bad of ['', 'a..b', 'example.com:80', '*.example.com', 'a/b', 'under_score.com', '-a.com', 'é.com'])
    assert.ok('problem' in normalizeHost(bad), bad);
  assert.ok('problem' in normalizeHost(`${'a'.repeat(63)}.`.repeat(4) + 'com'), 'longer than 253');
  assert.ok('problem' in normalizeHost(`${'a'.repeat(64)}.com`), 'a label longer than 63');
});

test("zones: the domain is nobody's; a host below it is the zone owner's; outside, anyone's", () => {
  assert.match(String(zoneProblem(DOMAIN, 'alice', DOMAIN)), /proxy's own domain/);
  for (const host of ['alice.nodes.localhost', 'web.alice.nodes.localhost', 'a.b.alice.nodes.localhost'])
    assert.equal(zoneProblem(host, 'alice', DOMAIN), null, host);
  assert.match(String(zoneProblem('web.alice.nodes.localhost', 'bob', DOMAIN)), /zone of another user/);
  assert.match(String(zoneProblem('bob.nodes.localhost', 'alice', DOMAIN)), /zone of another user/);
  assert.equal(zoneProblem(`x.${ownerLabel('Ann')}.nodes.localhost`, 'Ann', DOMAIN), null);
  assert.notEqual(zoneProblem(`x.${ownerLabel('Ann')}.nodes.localhost`, 'ann', DOMAIN), null);
  assert.equal(zoneProblem('example.com', 'bob', DOMAIN), null);
  assert.equal(zoneProblem('xnodes.localhost', 'bob', DOMAIN), null, 'a suffix that is not below the domain');
});
