/**
 * lib/bus/curve-cert.ts against pyzmq's zmq.auth (Debian's python3-zmq): a pair pyzmq's
 * create_certificates made is read unchanged, metadata included, and a pair written here is
 * loaded by pyzmq's load_certificate and load_certificates. Then the certificate errors.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, test, type TestContext } from 'node:test';
import {
  formatCertificate,
  generateCertificate,
  parseCertificate,
  readCertificate,
  readPublicCertificates,
  writeCertificate,
} from '../../lib/bus/curve-cert';
import { sodiumReady } from '../../lib/bus/sodium';
import { z85Encode } from '../../lib/bus/z85';
import { needSdk } from '../helpers/sdk-suite';

const PYTHON = { interpreter: '/usr/bin/python3', probe: ['-c', 'import zmq.auth'], packages: 'python3-zmq' };
const METADATA = { serve: 'echo,Auth', call: '*', act_for_users: 'true' };

before(() => sodiumReady());

function tmpDir(t: TestContext): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'curve-cert-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Run a Python program with Debian's interpreter; answers its stdout parsed as JSON. */
function python(program: string, ...args: string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON.interpreter, ['-c', program, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`python failed: ${stderr}`, { cause: err }));
      else resolve(JSON.parse(stdout));
    });
  });
}

test("a pair made by pyzmq's create_certificates is read unchanged", async (t) => {
  if (!(await needSdk(t, PYTHON))) return;
  const dir = tmpDir(t);
  const made = (await python(
    `import json, sys, zmq.auth
pub, sec = zmq.auth.create_certificates(sys.argv[1], "x", metadata=json.loads(sys.argv[2]))
p, s = zmq.auth.load_certificate(sec)
print(json.dumps({"public": p.decode(), "secret": s.decode()}))`,
    dir,
    JSON.stringify(METADATA),
  )) as { public: string; secret: string };
  const secret = await readCertificate(path.join(dir, 'x.key_secret'));
  assert.equal(z85Encode(secret.publicKey), made.public);
  assert.equal(z85Encode(secret.secretKey as Buffer), made.secret);
  assert.deepEqual(secret.metadata, METADATA); // pyzmq writes these bare
  const pub = await readCertificate(path.join(dir, 'x.key'));
  assert.equal(z85Encode(pub.publicKey), made.public);
  assert.equal(pub.secretKey, undefined);
  assert.deepEqual(pub.metadata, {}); // pyzmq writes metadata into the secret file only
});

test("a pair written here is loaded by pyzmq's load_certificate and load_certificates", async (t) => {
  if (!(await needSdk(t, PYTHON))) return;
  const dir = tmpDir(t);
  const cert = generateCertificate(METADATA);
  const { publicFile, secretFile } = await writeCertificate(dir, 'worker', cert);
  assert.equal(publicFile, path.join(dir, 'worker.key'));
  assert.equal(secretFile, path.join(dir, 'worker.key_secret'));
  assert.equal(statSync(secretFile).mode & 0o777, 0o600);
  const loaded = (await python(
    `import json, sys, zmq.auth
p1, s1 = zmq.auth.load_certificate(sys.argv[1])
p2, s2 = zmq.auth.load_certificate(sys.argv[2])
print(json.dumps({"public": p1.decode(), "none": s1, "public2": p2.decode(), "secret": s2.decode(),
                  "all": [k.decode() for k in zmq.auth.load_certificates(sys.argv[3])]}))`,
    publicFile,
    secretFile,
    dir,
  )) as Record<string, unknown>;
  const z85Public = z85Encode(cert.publicKey);
  assert.deepEqual(loaded, {
    public: z85Public,
    none: null,
    public2: z85Public,
    secret: z85Encode(cert.secretKey as Buffer),
    all: [z85Public],
  });
  // And read back here, metadata in both files (as czmq writes them).
  assert.deepEqual(await readCertificate(secretFile), cert);
  assert.deepEqual(await readCertificate(publicFile), { publicKey: cert.publicKey, metadata: METADATA });
});

test('readPublicCertificates: every *.key of a directory, by Z85 public key', async (t) => {
  const dir = tmpDir(t);
  const a = generateCertificate({ serve: 'echo' });
  const b = generateCertificate({ call: '*' });
  await writeCertificate(dir, 'a', a);
  await writeCertificate(dir, 'b', b);
  const certs = await readPublicCertificates(dir);
  assert.deepEqual([...certs.keys()].sort(), [z85Encode(a.publicKey), z85Encode(b.publicKey)].sort());
  assert.deepEqual(certs.get(z85Encode(a.publicKey)), { publicKey: a.publicKey, metadata: { serve: 'echo' } });
});

test('bad certificates: errors that name the file and the problem', async (t) => {
  const cert = generateCertificate();
  const good = formatCertificate(cert, true);
  const publicKey = z85Encode(cert.publicKey);
  // Keys hold '$': replace with split/join, not String.replace and its $-patterns.
  const swap = (text: string): string => good.split(publicKey).join(text);
  const cases: Array<[string, RegExp]> = [
    ['metadata\ncurve\n', /f: no curve\/public-key/],
    [swap(publicKey.slice(1)), /f: curve\/public-key is 39 characters, not 40/],
    [swap(`~${publicKey.slice(1)}`), /f: curve\/public-key is not Z85: .*invalid character/],
    [swap(`#${publicKey.slice(1)}`), /f: curve\/public-key is not Z85: .*exceeds 32 bits/],
    [swap(z85Encode(generateCertificate().publicKey)), /not the secret key of curve\/public-key/],
    ['curve\n   public-key = "x"', /f:2: indentation/],
  ];
  for (const [text, message] of cases) assert.throws(() => parseCertificate(text, 'f'), { message }, text);
  const dir = tmpDir(t);
  const file = path.join(dir, 'broken.key');
  writeFileSync(file, 'curve\n    public-key = short\n');
  await assert.rejects(readCertificate(file), { message: new RegExp(`${file}: curve/public-key is 5 characters`) });
  assert.throws(() => formatCertificate({ publicKey: cert.publicKey, metadata: {} }, true), /needs the secret key/);
});
