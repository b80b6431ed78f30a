/**
 * The pieces of CURVE authorization that need no socket: grants read from certificate metadata
 * as czmq (quoted) and pyzmq (bare) write it (lib/bus/allow-list.ts), the method the broker reads
 * from a request body and the metadata frame it forwards (lib/bus/codec.ts), and which
 * endpoints count as this machine only (lib/bus/security.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import fc from 'fast-check';
import { AllowList, grantOf, mayCall, mayServe, parseNames } from '../../lib/bus/allow-list';
import {
  decodeMeta,
  encodeMeta,
  encodeNotification,
  encodeRequest,
  pack,
  peekMethod,
  unpack,
  vouchMeta,
} from '../../lib/bus/codec';
import { formatCertificate, generateCertificate } from '../../lib/bus/curve-cert';
import { loopbackOnly } from '../../lib/bus/security';
import { sodiumReady } from '../../lib/bus/sodium';
import { z85Encode } from '../../lib/bus/z85';

before(() => sodiumReady());

test('names: comma-separated, quoted or not, blanks dropped, * for all', () => {
  assert.deepEqual(parseNames('echo,Auth'), new Set(['echo', 'Auth']));
  assert.deepEqual(parseNames('"echo, Auth.Logon"'), new Set(['echo', 'Auth.Logon']));
  assert.deepEqual(parseNames(' '), new Set());
  assert.deepEqual(parseNames(undefined), new Set());
  assert.equal(parseNames('echo,*'), '*');
});

test('grants: serve by service, call by service or Service.Method, act_for_users only when true', () => {
  const key = generateCertificate().publicKey;
  const g = grantOf('gw', key, { serve: 'echo', call: 'Auth.Logon,driver.local', act_for_users: '"true"' });
  assert.equal(g.key, z85Encode(key));
  assert.ok(mayServe(g, 'echo'));
  assert.ok(!mayServe(g, 'Auth'));
  assert.ok(mayCall(g, 'Auth', 'Logon'));
  assert.ok(!mayCall(g, 'Auth', 'Logoff'));
  assert.ok(!mayCall(g, 'Auth', undefined), 'a method the broker cannot read needs the whole service');
  assert.ok(mayCall(g, 'driver.local', 'Create'), 'a service name with a dot grants all its methods');
  assert.ok(mayCall(g, 'driver.local', undefined));
  assert.equal(g.actForUsers, true);
  assert.equal(grantOf('x', key, { act_for_users: 'false' }).actForUsers, false);
  assert.equal(grantOf('x', key, {}).actForUsers, false);
  const all = grantOf('x', key, { serve: '*', call: '*' });
  assert.ok(mayServe(all, 'anything') && mayCall(all, 'any', undefined));
});

test('an allow-list directory: each *.key by its file name, czmq and pyzmq metadata alike', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'agora-allow-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const czmq = generateCertificate({ serve: 'echo', call: 'echo.echo' });
  writeFileSync(path.join(dir, 'czmq.key'), formatCertificate(czmq));
  const py = generateCertificate();
  const bare = `metadata\n    serve = pyecho\n    act_for_users = true\ncurve\n    public-key = "${z85Encode(py.publicKey)}"\n`;
  writeFileSync(path.join(dir, 'py.key'), bare);
  writeFileSync(path.join(dir, 'ignored.key_secret'), formatCertificate(generateCertificate(), true));
  const allow = await AllowList.read(dir);
  assert.equal(allow.size, 2);
  assert.equal(allow.get(czmq.publicKey)?.name, 'czmq');
  assert.ok(mayCall(allow.get(czmq.publicKey)!, 'echo', 'echo'));
  const pyGrant = allow.get(py.publicKey)!;
  assert.equal(pyGrant.name, 'py');
  assert.ok(mayServe(pyGrant, 'pyecho') && pyGrant.actForUsers);
  assert.equal(allow.get(generateCertificate().publicKey), undefined);
  assert.equal(allow.get(undefined), undefined);
  writeFileSync(path.join(dir, 'broken.key'), 'curve\n    public-key = "short"\n');
  await assert.rejects(AllowList.read(dir), /broken\.key/);
});

test('peekMethod reads the method of any request or notification, and nothing from other bodies', () => {
  fc.assert(
    fc.property(fc.nat({ max: 0xffffffff }), fc.string({ maxLength: 300 }), (msgid, method) => {
      assert.equal(peekMethod(encodeRequest(msgid, method, [1, 'x'])), method);
      assert.equal(peekMethod(encodeNotification(method, [])), method);
    }),
  );
  assert.equal(peekMethod(pack([1, 1, null, 'x'])), undefined);
  assert.equal(peekMethod(pack({ method: 'x' })), undefined);
  assert.equal(peekMethod(Buffer.from([0x94, 0x00, 0x01])), undefined);
  assert.equal(peekMethod(undefined), undefined);
});

test('vouchMeta names the caller, keeps user only when asked, keeps every other key', () => {
  const claimed = encodeMeta({ deadline: 5, reqId: 'r', caller: 'gateway', user: 'alice', idempotent: true });
  assert.deepEqual(decodeMeta(vouchMeta(claimed, 'echo', false)), {
    deadline: 5,
    reqId: 'r',
    caller: 'echo',
    idempotent: true,
  });
  assert.equal(decodeMeta(vouchMeta(claimed, 'gateway', true)).user, 'alice');
  assert.deepEqual(unpack(vouchMeta(pack({ extra: [1] }), 'x', false)), { extra: [1], caller: 'x' });
  assert.deepEqual(unpack(vouchMeta(undefined, 'x', true)), { caller: 'x' });
  assert.deepEqual(unpack(vouchMeta(Buffer.from([0xc1]), 'x', true)), { caller: 'x' });
  assert.deepEqual(unpack(vouchMeta(pack([1, 2]), 'x', true)), { caller: 'x' });
});

test('vouchMeta forwards a small map without caller as it came, the caller entry appended; others are re-encoded', () => {
  // deadline as a uint64 (0xcf) where msgpack would pick a shorter integer: kept as it came.
  const deadline = Buffer.from([0xa8, ...Buffer.from('deadline'), 0xcf, 0, 0, 0, 0, 0, 0, 0, 5]);
  const claimed = Buffer.concat([Buffer.from([0x81]), deadline]);
  const vouched = vouchMeta(claimed, 'echo', false);
  assert.deepEqual(vouched, Buffer.concat([Buffer.from([0x82]), deadline, pack('caller'), pack('echo')]));
  assert.deepEqual(unpack(vouched), { deadline: 5, caller: 'echo' });
  // With a user to drop, a caller to replace, or 15 entries (no room in a fixmap): decoded and encoded again.
  const withUser = Buffer.concat([Buffer.from([0x82]), deadline, pack('user'), pack('alice')]);
  assert.deepEqual(unpack(vouchMeta(withUser, 'echo', false)), { deadline: 5, caller: 'echo' });
  assert.deepEqual(unpack(vouchMeta(withUser, 'gw', true)), { deadline: 5, user: 'alice', caller: 'gw' });
  const withCaller = Buffer.concat([Buffer.from([0x82]), pack('caller'), pack('gateway'), deadline]);
  assert.deepEqual(unpack(vouchMeta(withCaller, 'echo', true)), { caller: 'echo', deadline: 5 });
  const fifteen = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`k${i}`, i]));
  assert.deepEqual(unpack(vouchMeta(pack(fifteen), 'echo', true)), { ...fifteen, caller: 'echo' });
});

test('loopbackOnly: 127/8, ::1, localhost and ipc:// are this machine; anything else is not', () => {
  for (const e of [
    'tcp://127.0.0.1:5555',
    'tcp://127.1.2.3:0',
    'tcp://[::1]:5555',
    'tcp://localhost:1',
    'ipc:///tmp/b',
  ])
    assert.ok(loopbackOnly(e), e);
  for (const e of ['tcp://0.0.0.0:5555', 'tcp://*:5555', 'tcp://10.0.0.1:5555', 'tcp://[::]:5555', 'tcp://host:1'])
    assert.ok(!loopbackOnly(e), e);
});
