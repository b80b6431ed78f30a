/**
 * gRPC between services with mutual TLS (AGORA_GRPC_TLS_CERT, _KEY, _CA): a CA and certificates
 * made by openssl in a temp dir; auth and channels run with them, and channels resolves a
 * session through auth's gRPC; a client with the CA's certificate calls auth, one without a
 * certificate, with one from another CA, or in plaintext is refused. Without TLS, a service
 * refuses to bind gRPC off loopback (exit 78) unless AGORA_GRPC_INSECURE is true.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { createClient } from '../../lib/bus/client';
import { loadProto } from '../../lib/rpc/proto';
import { waitForService } from '../helpers/bus';
import { runToExit, skipOrFail, startBroker, startNode, type Started } from '../helpers/proc';

const run = promisify(execFile);

interface Pki {
  dir: string;
  /** The mesh's CA, and a certificate (with its key) it signed for 127.0.0.1, server and client use. */
  ca: string;
  cert: string;
  key: string;
  /** A certificate from another CA. */
  rogueCert: string;
  rogueKey: string;
}

/** A CA and a certificate it signs, by openssl in `dir`, named `name`. */
async function authority(dir: string, name: string): Promise<{ ca: string; cert: string; key: string }> {
  const file = (suffix: string): string => path.join(dir, `${name}${suffix}`);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run(
    'openssl',
    ['req', '-x509', ...ec, '-keyout', file('-ca.key'), '-out', file('-ca.crt')].concat([
      '-days',
      '2',
      '-subj',
      `/CN=${name} test CA`,
    ]),
  );
  await run('openssl', ['req', ...ec, '-keyout', file('.key'), '-out', file('.csr'), '-subj', `/CN=${name} service`]);
  writeFileSync(
    file('.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n',
  );
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    file('.csr'),
    '-CA',
    file('-ca.crt'),
    '-CAkey',
    file('-ca.key'),
    '-CAcreateserial',
    '-out',
    file('.crt'),
    '-days',
    '2',
    '-extfile',
    file('.ext'),
  ]);
  return { ca: file('-ca.crt'), cert: file('.crt'), key: file('.key') };
}

async function makePki(t: TestContext): Promise<Pki | null> {
  try {
    await run('openssl', ['version']);
  } catch {
    return skipOrFail(t, 'openssl is not installed', 'openssl') || null;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agora-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const mesh = await authority(dir, 'mesh');
  const rogue = await authority(dir, 'rogue');
  return { dir, ...mesh, rogueCert: rogue.cert, rogueKey: rogue.key };
}

type Resolve = (sesskey: number) => Promise<{ username: string }>;

/** Auth.Resolve over gRPC with these credentials, failing at once when they are refused. */
function resolver(t: TestContext, address: string, credentials: grpc.ChannelCredentials): Resolve {
  const Auth = loadProto('auth.proto').agora.Auth;
  const client = new Auth(address, credentials);
  t.after(() => client.close());
  return (sesskey) =>
    new Promise((resolve, reject) => {
      client.Resolve({ sesskey }, { deadline: Date.now() + 3000 }, (err, reply) =>
        err === null && reply !== undefined ? resolve(reply) : reject(err ?? new Error('no reply')),
      );
    });
}

test('auth and channels speak gRPC over mutual TLS; a client without the CA-signed certificate is refused', async (t) => {
  const pki = await makePki(t);
  if (pki === null) return;
  const procs: Started[] = [];
  t.after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
  });
  const broker = await startBroker();
  procs.push(broker);
  const bus = String(broker.endpoints.bus);
  const tls = { AGORA_GRPC_TLS_CERT: pki.cert, AGORA_GRPC_TLS_KEY: pki.key, AGORA_GRPC_TLS_CA: pki.ca };
  const auth = await startNode('services/auth/main.js', {
    env: { AGORA_BUS_URL: bus, AGORA_AUTH_GRPC_URL: '127.0.0.1:0', ...tls },
  });
  procs.push(auth);
  const authGrpc = String(auth.endpoints.grpc);
  const channels = await startNode('services/channels/main.js', {
    env: { AGORA_BUS_URL: bus, AGORA_AUTH_GRPC_URL: authGrpc, AGORA_CHANNELS_GRPC_URL: '127.0.0.1:0', ...tls },
  });
  procs.push(channels);

  const client = createClient({ endpoint: bus, timeoutMs: 5000 });
  t.after(() => client.close());
  await waitForService(client, 'Channels', 10_000);
  const { sesskey } = await client.call<{ sesskey: number }>('Auth', 'Logon', [
    { username: 'tina', password: 'pw', client_addr: '192.0.2.1' },
  ]);

  // Channels checks the session with auth over mTLS (its Watch stream or Auth.Resolve).
  await client.call('Channels', 'Create', [{ sesskey, channel: 'secure' }]);
  const listed = await client.call<{ channels: string[] }>('Channels', 'List', [{ sesskey }]);
  assert.deepEqual(listed.channels, ['secure']);

  const ca = readFileSync(pki.ca);
  const withCert = resolver(t, authGrpc, grpc.credentials.createSsl(ca, readFileSync(pki.key), readFileSync(pki.cert)));
  assert.equal((await withCert(sesskey)).username, 'tina');

  const refused: Array<[string, grpc.ChannelCredentials]> = [
    ['no client certificate', grpc.credentials.createSsl(ca)],
    [
      'a certificate of another CA',
      grpc.credentials.createSsl(ca, readFileSync(pki.rogueKey), readFileSync(pki.rogueCert)),
    ],
    ['plaintext', grpc.credentials.createInsecure()],
  ];
  for (const [what, credentials] of refused) {
    await assert.rejects(
      resolver(t, authGrpc, credentials)(sesskey),
      (err: grpc.ServiceError) => {
        assert.ok(
          [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED].includes(err.code),
          `${what}: ${err.code} ${err.message}`,
        );
        return true;
      },
      what,
    );
  }
});

test('without TLS, gRPC bound off loopback exits 78 naming the variables, unless AGORA_GRPC_INSECURE=true', async (t) => {
  const base = { AGORA_BUS_URL: 'tcp://127.0.0.1:1', AGORA_AUTH_GRPC_URL: '0.0.0.0:0' };
  const plain = await runToExit('services/auth/main.js', base);
  assert.equal(plain.code, 78, plain.stderr);
  assert.match(plain.stderr, /auth: invalid configuration/);
  for (const name of ['AGORA_GRPC_TLS_CERT', 'AGORA_GRPC_TLS_KEY', 'AGORA_GRPC_TLS_CA', 'AGORA_GRPC_INSECURE'])
    assert.match(plain.stderr, new RegExp(name), name);
  const partial = await runToExit('services/auth/main.js', { ...base, AGORA_GRPC_TLS_CERT: '/nonexistent/cert.pem' });
  assert.equal(partial.code, 78, partial.stderr);
  assert.match(partial.stderr, /must be set together/);
  const missing = await runToExit('services/auth/main.js', {
    ...base,
    AGORA_GRPC_TLS_CERT: '/nonexistent/cert.pem',
    AGORA_GRPC_TLS_KEY: '/nonexistent/key.pem',
    AGORA_GRPC_TLS_CA: '/nonexistent/ca.pem',
  });
  assert.equal(missing.code, 78, missing.stderr);
  assert.match(missing.stderr, /AGORA_GRPC_TLS_CA cannot be read/);

  // Allowed when asked for: it starts (its ready line) and drains on SIGTERM.
  const broker = await startBroker();
  t.after(() => broker.stop());
  const insecure = await startNode('services/auth/main.js', {
    env: { AGORA_BUS_URL: String(broker.endpoints.bus), AGORA_AUTH_GRPC_URL: '0.0.0.0:0', AGORA_GRPC_INSECURE: 'true' },
  });
  assert.match(String(insecure.endpoints.grpc), /^0\.0\.0\.0:\d+$/);
  assert.equal(await insecure.stop(), 0);
});
