/**
 * `agora keys` (bin/keys.ts) as a user runs it: `keys new` writes a pair pyzmq reads, with the
 * grants given, the secret file private; `keys init` gives every Procfile process its
 * certificate and the least privilege (docs/SECURITY.md): only compute may call the drivers,
 * only the gateway may call Auth and act for users; an existing key is never overwritten.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, test, type TestContext } from 'node:test';
import { AllowList, mayCall, mayServe } from '../../lib/bus/allow-list';
import { readCertificate } from '../../lib/bus/curve-cert';
import { parseProcfile } from '../../lib/procfile';
import { sodiumReady } from '../../lib/bus/sodium';
import { z85Encode } from '../../lib/bus/z85';
import { entry, ROOT } from '../helpers/proc';

before(() => sodiumReady());

function agora(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [entry('bin/agora.js'), ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'agora-keys-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('keys new: a pair pyzmq reads, with its grants, the secret file 0600; never overwritten', async (t) => {
  const dir = tempDir(t);
  const made = agora(['keys', 'new', 'gw', dir, '--call', 'Auth.Logon,echo', '--act-for-users']);
  assert.equal(made.status, 0, made.stderr);
  const pub = await readCertificate(path.join(dir, 'gw.key'));
  const secret = await readCertificate(path.join(dir, 'gw.key_secret'));
  assert.deepEqual(secret.publicKey, pub.publicKey);
  assert.ok(secret.secretKey !== undefined && pub.secretKey === undefined);
  assert.deepEqual(pub.metadata, { call: 'Auth.Logon,echo', act_for_users: 'true' });
  assert.equal(statSync(path.join(dir, 'gw.key_secret')).mode & 0o777, 0o600);
  assert.ok(made.stdout.includes(z85Encode(pub.publicKey)), 'prints the public key');

  const again = agora(['keys', 'new', 'gw', dir]);
  assert.equal(again.status, 64);
  assert.match(again.stderr, /gw\.key_secret exists/);
  assert.deepEqual((await readCertificate(path.join(dir, 'gw.key'))).publicKey, pub.publicKey);

  if (spawnSync('/usr/bin/python3', ['-c', 'import zmq.auth']).status !== 0) return;
  const loaded = execFileSync(
    '/usr/bin/python3',
    [
      '-c',
      'import sys, zmq.auth; p, s = zmq.auth.load_certificate(sys.argv[1]); print(p.decode(), s.decode())',
      path.join(dir, 'gw.key_secret'),
    ],
    { encoding: 'utf8' },
  );
  assert.deepEqual(loaded.trim().split(' '), [z85Encode(pub.publicKey), z85Encode(secret.secretKey)]);
});

test('keys init: every Procfile process, the allow-list, least privilege', async (t) => {
  const dir = tempDir(t);
  const made = agora(['keys', 'init', dir]);
  assert.equal(made.status, 0, made.stderr);
  const names = parseProcfile(readFileSync(path.join(ROOT, 'Procfile'), 'utf8')).map((e) => e.name);
  for (const name of names) assert.ok(statSync(path.join(dir, `${name}.key_secret`)).isFile(), name);
  const allow = await AllowList.read(path.join(dir, 'allow'));
  const broker = await readCertificate(path.join(dir, 'broker.key'));
  assert.equal(allow.get(broker.publicKey), undefined, 'the broker is not a client of itself');
  const grants = new Map<string, NonNullable<ReturnType<AllowList['get']>>>();
  for (const name of [...names.filter((n) => n !== 'broker'), 'client']) {
    const grant = allow.get((await readCertificate(path.join(dir, `${name}.key`))).publicKey);
    assert.ok(grant !== undefined, `${name} is in the allow-list`);
    grants.set(name, grant);
  }
  for (const [name, grant] of grants) {
    assert.equal(mayCall(grant, 'driver.local', 'Create'), name === 'compute', `${name} calls the driver`);
    assert.equal(mayCall(grant, 'driver.ruby', 'Create'), name === 'compute', `${name} calls the Ruby driver`);
    assert.equal(mayCall(grant, 'Auth', 'Logon'), name === 'gateway', `${name} calls Auth.Logon`);
    assert.equal(grant.actForUsers, name === 'gateway', `${name} acts for users`);
  }
  assert.ok(mayServe(grants.get('auth')!, 'Auth') && !mayServe(grants.get('echo')!, 'Auth'));
  assert.ok(mayServe(grants.get('driver')!, 'driver.local') && mayServe(grants.get('driver-ruby')!, 'driver.ruby'));
  assert.ok(mayCall(grants.get('client')!, 'echo', 'echo'));
  assert.equal(agora(['keys', 'init', dir]).status, 64, 'init again refuses to overwrite');
});
