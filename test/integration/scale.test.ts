/**
 * Several instances of every service against shared PostgreSQL and Redis, each a real
 * process on loopback: a user logs on through one instance and posts through others, a
 * logoff through any auth instance takes effect in every cache before it answers,
 * concurrent posters through several messages instances get gap-free ids, sessions outlive
 * a restart of auth, and /__heartbeat__ reports each backend.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { unary } from '../../lib/rpc/grpc';
import { loadProto } from '../../lib/rpc/proto';
import { startPostgres, startRedis, until } from '../helpers/backends';
import { legacy, logon, startScaledMesh, type ScaledMesh } from '../helpers/scaled-mesh';
import { startNode } from '../helpers/proc';

// Sessions and the auth fan-out on Redis (pub/sub), then on PostgreSQL alone (LISTEN/NOTIFY).
for (const withRedis of [true, false]) {
  test(`two instances of auth, channels and messages on PostgreSQL${withRedis ? ' and Redis' : ' alone'}`, async (t) => {
    const pg = await startPostgres(t);
    const redis = withRedis ? await startRedis(t) : undefined;
    if (pg === undefined || (withRedis && redis === undefined)) return;
    // A short lockout, so that test 5b's lock on this client address is over before test 6 logs on.
    const env: Record<string, string> = {
      AGORA_DATABASE_URL: await pg.newDatabase(),
      AGORA_MESSAGES_RETAINED: '1000',
      AGORA_LOGON_LOCKOUT_S: '3',
    };
    if (redis !== undefined) env.AGORA_REDIS_URL = redis.url;
    const mesh = await startScaledMesh(2, env);
    t.after(() => mesh.stop());
    const { base } = mesh;

    await t.test('1. a session made through one instance works through all; a channel made once is seen by all', () =>
      sharedSessionAndChannel(base),
    );
    await t.test('2. a logoff through either auth instance fails the key everywhere as soon as it has answered', () =>
      logoffThroughEither(mesh),
    );
    await t.test(
      '3. 200 concurrent posts from 4 users through both messages instances: ids 1..n once each, every text kept',
      () => concurrentPosts(base),
    );
    await t.test(
      "3b. a writer's write permission revoked through either channels instance: its very next post through every messages instance is refused",
      () => revokedWriter(base),
    );
    await t.test('4. /__heartbeat__ reports the backends of every service', () =>
      heartbeatNamesBackends(base, withRedis),
    );
    await t.test(
      `5. sessions stored in ${withRedis ? 'Redis' : 'PostgreSQL'} outlive a restart of every auth instance`,
      () => authRestarted(mesh, env),
    );
    await t.test('5b. wrong passwords count across both auth instances: five lock the user out through either', () =>
      sharedThrottle(base),
    );
    await t.test(
      '6. one auth instance SIGKILLed: the other serves the caches, and its logoffs still take effect everywhere at once',
      () => authKilled(mesh),
    );
  });
}

/** Log `sesskey` off by a gRPC call to the auth instance at `grpcAddress`. */
async function logoffThrough(grpcAddress: string, sesskey: number): Promise<void> {
  const Auth = loadProto('auth.proto').agora.Auth;
  const client = new Auth(grpcAddress, grpc.credentials.createInsecure());
  try {
    await unary(client, 'Logoff', { sesskey }, { timeoutMs: 10_000 });
  } finally {
    client.close();
  }
}

async function sharedSessionAndChannel(base: string): Promise<void> {
  const key = await logon(base, 'ann');
  assert.deepEqual(await legacy(base, '/create', { sesskey: key, channel: 'general' }), {
    status: true,
    data: true,
  });
  // The broker hands calls to the instances in turn: 8 calls reach both of each service.
  for (let i = 0; i < 8; i++) {
    assert.deepEqual(await legacy(base, '/list', { sesskey: key }), { status: true, data: ['general'] });
    assert.equal(
      (await legacy(base, '/post', { sesskey: key, channel: 'general', message: `hello ${i}` })).status,
      true,
    );
  }
  assert.deepEqual(await legacy(base, '/lastmessage', { sesskey: key, channel: 'general' }), {
    status: true,
    data: 8,
  });
}

async function logoffThroughEither(mesh: ScaledMesh): Promise<void> {
  const { base } = mesh;
  for (const auth of mesh.auth) {
    const key = await logon(base, 'bo');
    // Warm every cache: posts through both messages instances, lists through both channels instances.
    for (let i = 0; i < 6; i++) {
      assert.equal((await legacy(base, '/post', { sesskey: key, channel: 'general', message: 'warm' })).status, true);
      assert.equal((await legacy(base, '/list', { sesskey: key })).status, true);
    }
    await logoffThrough(String(auth.endpoints.grpc), key);
    for (let i = 0; i < 6; i++) {
      const post = await legacy(base, '/post', { sesskey: key, channel: 'general', message: 'after logoff' });
      assert.equal(post.status, false, `post ${i} after the logoff through ${auth.endpoints.grpc} was accepted`);
      assert.equal((await legacy(base, '/list', { sesskey: key })).status, false);
    }
  }
}

async function concurrentPosts(base: string): Promise<void> {
  const keys = await Promise.all(['u1', 'u2', 'u3', 'u4'].map((u) => logon(base, u)));
  await legacy(base, '/create', { sesskey: keys[0], channel: 'busy' });
  const texts = Array.from({ length: 200 }, (_, i) => `m${i}`);
  const answers = await Promise.all(
    texts.map((message, i) => legacy(base, '/post', { sesskey: keys[i % 4], channel: 'busy', message })),
  );
  assert.ok(
    answers.every((a) => a.status),
    JSON.stringify(answers.find((a) => !a.status)),
  );
  const got = (await legacy(base, '/retrieve', { sesskey: keys[0], channel: 'busy', first: 1, last: 1000 }))
    .data as Array<{ messageid: number; message: string }>;
  assert.deepEqual(
    got.map((m) => m.messageid),
    Array.from({ length: 200 }, (_, i) => i + 1),
  );
  assert.deepEqual(got.map((m) => m.message).sort(), [...texts].sort());
}

/** A /v1 call through the gateway with `key` as Bearer; the status and the parsed body. */
async function v1(base: string, method: string, path: string, key: number, body?: unknown) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: res.status, body: (await res.json()) as { errno?: number } };
}

async function revokedWriter(base: string): Promise<void> {
  const [owner, writer] = await Promise.all([logon(base, 'rv-owner'), logon(base, 'rv-writer')]);
  // Twice: the broker hands the two changes to the two channels instances in turn.
  for (const channel of ['revoked-1', 'revoked-2']) {
    const made = await v1(base, 'POST', '/v1/channels', owner, {
      name: channel,
      permissions: { read: ['system.Authenticated'], write: ['account:rv-writer'] },
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    // Every messages instance keeps the channel's permissions: posts through both, both ways.
    for (let i = 0; i < 6; i++) {
      assert.equal((await legacy(base, '/post', { sesskey: writer, channel, message: `w${i}` })).status, true);
      assert.equal(
        (await v1(base, 'POST', `/v1/channels/${channel}/messages`, writer, { message: `v${i}` })).status,
        201,
      );
    }
    const revoked = await v1(base, 'PATCH', `/v1/channels/${channel}`, owner, { permissions: { write: [] } });
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    for (let i = 0; i < 6; i++) {
      const post = await legacy(base, '/post', { sesskey: writer, channel, message: 'after' });
      assert.equal(post.status, false, `legacy post ${i} after the change accepted`);
      const refused = await v1(base, 'POST', `/v1/channels/${channel}/messages`, writer, { message: 'after' });
      assert.deepEqual([refused.status, refused.body.errno], [403, 121], `/v1 post ${i} after the change`);
    }
    assert.equal((await legacy(base, '/post', { sesskey: owner, channel, message: 'owner' })).status, true);
  }
}

async function heartbeatNamesBackends(base: string, withRedis: boolean): Promise<void> {
  const res = await fetch(`${base}/__heartbeat__`, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as Record<string, boolean>;
  assert.equal(res.status, 200, JSON.stringify(body));
  for (const check of ['Auth.postgres', 'Channels.postgres', 'Messages.postgres', 'Compute.postgres'])
    assert.equal(body[check], true, `${check} in ${JSON.stringify(body)}`);
  assert.equal(body['Auth.redis'], withRedis ? true : undefined);
}

async function authRestarted(mesh: ScaledMesh, env: Record<string, string>): Promise<void> {
  const { base } = mesh;
  const key = await logon(base, 'cy');
  const ports = mesh.auth.map((a) => String(a.endpoints.grpc));
  for (const a of mesh.auth) assert.equal(await a.stop(), 0);
  const common = { ...env, AGORA_BUS_URL: String(mesh.broker.endpoints.bus) };
  // The same addresses, so that the other services' lists still name them.
  mesh.auth = [];
  for (const bind of ports)
    mesh.auth.push(await startNode('services/auth/main.js', { env: { ...common, AGORA_GRPC_BIND: bind } }));
  await until(async () => (await legacy(base, '/list', { sesskey: key })).status, 'the old key to be accepted again');
  assert.equal((await legacy(base, '/post', { sesskey: key, channel: 'general', message: 'still me' })).status, true);
}

async function sharedThrottle(base: string): Promise<void> {
  await logon(base, 'eve');
  // The broker hands consecutive logons to the two instances in turn.
  for (let i = 0; i < 5; i++) {
    const refused = await legacy(base, '/logon', { username: 'eve', password: 'wrong' });
    assert.equal(refused.status, false);
    assert.match(String(refused.data), /Wrong username or password/);
  }
  for (let i = 0; i < 4; i++) {
    const locked = await legacy(base, '/logon', { username: 'eve', password: 'pw-eve' });
    assert.equal(locked.status, false, 'the right password during the lock');
    assert.match(String(locked.data), /Too many failed logons; try again in \d+ seconds/);
  }
  // The lock (of the user and of this client address) ends with its window.
  await until(
    async () => (await legacy(base, '/logon', { username: 'eve', password: 'pw-eve' })).status,
    'the lock to end',
  );
}

async function authKilled(mesh: ScaledMesh): Promise<void> {
  const { base } = mesh;
  const key = await logon(base, 'dee');
  for (let i = 0; i < 4; i++)
    assert.equal((await legacy(base, '/post', { sesskey: key, channel: 'general', message: 'before' })).status, true);
  assert.equal(await mesh.auth[0].stop('SIGKILL'), 'SIGKILL');
  // Calls the broker still hands to the dead instance fail until it stops counting it; the key itself stays good.
  await until(
    async () => (await legacy(base, '/post', { sesskey: key, channel: 'general', message: 'after the kill' })).status,
    'posts to succeed after the kill',
  );
  await logoffThrough(String(mesh.auth[1].endpoints.grpc), key);
  for (let i = 0; i < 4; i++)
    assert.equal(
      (await legacy(base, '/post', { sesskey: key, channel: 'general', message: 'after logoff' })).status,
      false,
    );
}
