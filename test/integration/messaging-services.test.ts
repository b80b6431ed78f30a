/**
 * The messaging services as the Procfile runs them — broker, auth, channels, messages, each
 * its own process on free loopback ports — called through the bus as the gateway calls them.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createClient, type BusClient } from '../../lib/bus/client';
import type { LastReply__Output } from '../../lib/gen/agora/LastReply';
import type { ExistsReply__Output } from '../../lib/gen/agora/ExistsReply';
import { unary } from '../../lib/rpc/grpc';
import { loadProto } from '../../lib/rpc/proto';
import { startBroker, startNode, type Started } from '../helpers/proc';

interface LogonReply {
  sesskey: number;
  username: string;
}
interface Msg {
  messageid: number;
  username: string;
  message: string;
}

/**
 * The messages of a Retrieve without their last_modified, once checked: each one's is ms since the
 * epoch, greater than the one before it (the store stamps them so in id order).
 */
function unstamped(reply: unknown): Msg[] {
  const messages = (reply as { messages: Array<Msg & { last_modified: number }> }).messages;
  return messages.map(({ last_modified: stamp, ...m }, i) => {
    assert.ok(Number.isSafeInteger(stamp) && stamp > 1e12, `message ${m.messageid} stamped ${stamp}`);
    if (i > 0) assert.ok(stamp > messages[i - 1].last_modified, `message ${m.messageid} stamped after the one before`);
    return m;
  });
}

const MAX_BYTES = 64;

/** What the steps share: the test (whose `after` closes what they open), the processes, the bus, alice's session. */
interface Mesh {
  t: TestContext;
  procs: Record<string, Started>;
  bus: string;
  client: BusClient;
  alice: number;
}

function logon(c: BusClient, username: string): Promise<LogonReply> {
  return c.call<LogonReply>('Auth', 'Logon', [{ username, password: `pw-${username}`, client_addr: '192.0.2.1' }]);
}

/** 1. The mesh: broker, then auth, then the services that dial auth (and channels). */
async function startMesh(t: { after(fn: () => Promise<unknown>): void }): Promise<Record<string, Started>> {
  const procs: Record<string, Started> = {};
  t.after(async () => {
    await Promise.all(Object.values(procs).map((p) => p.stop()));
  });
  procs.broker = await startBroker();
  const bus = String(procs.broker.endpoints.bus);
  const common = { AGORA_BUS_URL: bus, AGORA_WORKER_CONCURRENCY: '8', AGORA_GRPC_TIMEOUT_MS: '3000' };
  procs.auth = await startNode('services/auth/main.js', { env: { ...common, AGORA_AUTH_GRPC_URL: '127.0.0.1:0' } });
  const authGrpc = String(procs.auth.endpoints.grpc);
  procs.channels = await startNode('services/channels/main.js', {
    env: { ...common, AGORA_AUTH_GRPC_URL: authGrpc, AGORA_CHANNELS_GRPC_URL: '127.0.0.1:0' },
  });
  procs.messages = await startNode('services/messages/main.js', {
    env: {
      ...common,
      AGORA_AUTH_GRPC_URL: authGrpc,
      AGORA_CHANNELS_GRPC_URL: String(procs.channels.endpoints.grpc),
      AGORA_MESSAGES_GRPC_URL: '127.0.0.1:0',
      AGORA_MESSAGE_MAX_BYTES: String(MAX_BYTES),
    },
  });
  return procs;
}

test('auth, channels and messages over the bus', async (t) => {
  const procs = await startMesh(t);
  const bus = String(procs.broker.endpoints.bus);
  const client = createClient({ endpoint: bus, timeoutMs: 10_000, caller: 'test' });
  t.after(() => client.close());
  const alice = (await logon(client, 'alice')).sesskey;
  assert.ok(Number.isSafeInteger(alice) && alice > 0);
  const m: Mesh = { t, procs, bus, client, alice };
  await t.test('Channels.Create is idempotent, validates names, and List sorts', () => channelsCreateAndList(m));
  await t.test('Messages.Post, Last and Retrieve', () => postLastRetrieve(m));
  await t.test('Messages refuses what it must, with registry codes', () => messagesRefusals(m));
  await t.test('50 concurrent posters get distinct, gap-free ids and nothing is lost', () => concurrentPosters(m));
  await t.test('a bad session fails with AGORA_ERR_AUTH_BAD_SESSION, also right after logoff', () => badSessions(m));
  await t.test('the same handlers answer typed gRPC calls', () => grpcCalls(m));
});

async function channelsCreateAndList({ client, alice }: Mesh): Promise<void> {
  // Created without permissions: public, its creator a writer (lib/permissions.ts publicChannel).
  const permissions = { read: ['system.Authenticated'], write: ['system.Authenticated', 'account:alice'] };
  const made = await client.call<{ version: number }>('Channels', 'Create', [{ sesskey: alice, channel: 'general' }]);
  // The list's version is the timestamp of its last create, the channel's last_modified.
  assert.ok(Number.isSafeInteger(made.version) && made.version > 1_600_000_000_000, JSON.stringify(made));
  assert.deepEqual(made, {
    channel: 'general',
    created: true,
    version: made.version,
    permissions,
    last_modified: made.version,
  });
  assert.deepEqual(await client.call('Channels', 'Create', [{ sesskey: alice, channel: 'general' }]), {
    channel: 'general',
    created: false,
    version: made.version,
    permissions,
    last_modified: made.version,
  });
  const second = await client.call<{ version: number }>('Channels', 'Create', [
    { sesskey: alice, channel: 'Announcements' },
  ]);
  assert.ok(second.version > made.version);
  await assert.rejects(client.call('Channels', 'Create', [{ sesskey: alice, channel: 'no spaces' }]), {
    code: 'AGORA_ERR_CHANNEL_INVALID_NAME',
    errno: 107,
  });
  assert.deepEqual(await client.call('Channels', 'List', [{ sesskey: alice }]), {
    channels: ['Announcements', 'general'],
    version: second.version,
    last_modified: [second.version, made.version],
  });
  assert.deepEqual(await client.call('Channels', 'Exists', [{ sesskey: alice, channel: 'general' }]), {
    exists: true,
  });
  // A public channel is its signed-in users': to a call without a session it is absent.
  assert.deepEqual(await client.call('Channels', 'Exists', [{ channel: 'general' }]), { exists: false });
}

async function postLastRetrieve({ client, alice }: Mesh): Promise<void> {
  type Posted = { messageid: number; last_modified: number };
  assert.deepEqual(await client.call('Messages', 'Last', [{ sesskey: alice, channel: 'general' }]), {
    messageid: 0,
    last_modified: 0,
  });
  const first = await client.call<Posted>('Messages', 'Post', [
    { sesskey: alice, channel: 'general', message: 'hello, world' },
  ]);
  const second = await client.call<Posted>('Messages', 'Post', [
    { sesskey: alice, channel: 'general', message: 'héllo ✓' },
  ]);
  assert.deepEqual([first.messageid, second.messageid], [1, 2]);
  assert.ok(first.last_modified > 1e12 && second.last_modified > first.last_modified, 'each post answers its stamp');
  assert.deepEqual(await client.call('Messages', 'Last', [{ sesskey: alice, channel: 'general' }]), second);
  const stored = await client.call<{ messages: Posted[] }>('Messages', 'Retrieve', [
    { sesskey: alice, channel: 'general', first: 1, last: 2 },
  ]);
  assert.deepEqual(
    stored.messages.map((m) => ({ messageid: m.messageid, last_modified: m.last_modified })),
    [first, second],
    'the stamps the posts answered are those stored',
  );
  assert.deepEqual(
    unstamped(
      await client.call('Messages', 'Retrieve', [{ sesskey: alice, channel: 'general', first: -10, last: 100 }]),
    ),
    [
      { messageid: 1, username: 'alice', message: 'hello, world' },
      { messageid: 2, username: 'alice', message: 'héllo ✓' },
    ],
  );
  assert.deepEqual(
    await client.call('Messages', 'Retrieve', [{ sesskey: alice, channel: 'general', first: 2, last: 1 }]),
    { messages: [] },
  );
}

async function messagesRefusals({ client, alice }: Mesh): Promise<void> {
  const post = (channel: string, message: unknown) =>
    client.call('Messages', 'Post', [{ sesskey: alice, channel, message }]);
  await assert.rejects(post('nowhere', 'x'), { code: 'AGORA_ERR_CHANNEL_NOT_FOUND', errno: 111 });
  await assert.rejects(client.call('Messages', 'Last', [{ sesskey: alice, channel: 'nowhere' }]), {
    code: 'AGORA_ERR_CHANNEL_NOT_FOUND',
  });
  await assert.rejects(post('general', ''), { code: 'AGORA_ERR_MESSAGE_INVALID', errno: 107 });
  await assert.rejects(post('general', 'x'.repeat(MAX_BYTES + 1)), {
    code: 'AGORA_ERR_MESSAGE_TOO_LONG',
    errno: 113,
  });
  assert.equal(((await post('general', 'x'.repeat(MAX_BYTES))) as { messageid: number }).messageid, 3);
  await assert.rejects(post('general', 42), { code: 'AGORA_ERR_RPC_BAD_PARAMS' });
  await assert.rejects(
    client.call('Messages', 'Retrieve', [{ sesskey: alice, channel: 'general', first: 1.5, last: 3 }]),
    { code: 'AGORA_ERR_RPC_BAD_PARAMS', errno: 107 },
  );
  // A "no" from Channels is not remembered: the channel can be created a moment later.
  await client.call('Channels', 'Create', [{ sesskey: alice, channel: 'nowhere' }]);
  assert.equal(((await post('nowhere', 'now it exists')) as { messageid: number }).messageid, 1);
}

async function concurrentPosters({ t, bus, client, alice }: Mesh): Promise<void> {
  // 1. Fifty users, each with its own bus client and session.
  await client.call('Channels', 'Create', [{ sesskey: alice, channel: 'busy' }]);
  const posters = await Promise.all(
    Array.from({ length: 50 }, async (_, i) => {
      const c = createClient({ endpoint: bus, timeoutMs: 10_000 });
      t.after(() => c.close());
      return { c, name: `poster${i}`, sesskey: (await logon(c, `poster${i}`)).sesskey };
    }),
  );
  // 2. All post at once, two messages each.
  const sent = await Promise.all(
    posters.flatMap((p) =>
      [0, 1].map(async (k) => {
        const reply = await p.c.call<{ messageid: number }>('Messages', 'Post', [
          { sesskey: p.sesskey, channel: 'busy', message: `${p.name}#${k}` },
        ]);
        return { id: reply.messageid, username: p.name, message: `${p.name}#${k}` };
      }),
    ),
  );
  // 3. Ids are exactly 1..100; each retained message is the one its poster was told.
  assert.deepEqual(
    sent.map((s) => s.id).sort((a, b) => a - b),
    Array.from({ length: 100 }, (_, i) => i + 1),
  );
  assert.equal(
    (await client.call<{ messageid: number }>('Messages', 'Last', [{ sesskey: alice, channel: 'busy' }])).messageid,
    100,
  );
  const kept = await client.call('Messages', 'Retrieve', [{ sesskey: alice, channel: 'busy', first: 1, last: 100 }]);
  assert.deepEqual(
    unstamped(kept),
    [...sent].sort((a, b) => a.id - b.id).map((s) => ({ messageid: s.id, username: s.username, message: s.message })),
  );
}

async function badSessions({ client }: Mesh): Promise<void> {
  const forged = 123_456_789;
  for (const [service, method, request] of [
    ['Channels', 'List', { sesskey: forged }],
    ['Channels', 'Create', { sesskey: forged, channel: 'x' }],
    ['Messages', 'Post', { sesskey: forged, channel: 'general', message: 'x' }],
    ['Messages', 'Last', { sesskey: forged, channel: 'general' }],
    ['Messages', 'Retrieve', { sesskey: forged, channel: 'general', first: 1, last: 2 }],
  ] as const) {
    await assert.rejects(
      client.call(service, method, [request]),
      { code: 'AGORA_ERR_AUTH_BAD_SESSION', errno: 105 },
      `${service}.${method}`,
    );
  }
  const bob = (await logon(client, 'bob')).sesskey;
  const bye = await client.call<{ messageid: number }>('Messages', 'Post', [
    { sesskey: bob, channel: 'general', message: 'bye' },
  ]);
  assert.equal(bye.messageid, 4);
  await client.call('Auth', 'Logoff', [{ sesskey: bob }]);
  await assert.rejects(client.call('Messages', 'Post', [{ sesskey: bob, channel: 'general', message: 'ghost' }]), {
    code: 'AGORA_ERR_AUTH_BAD_SESSION',
  });
  await assert.rejects(client.call('Channels', 'List', [{ sesskey: bob }]), { code: 'AGORA_ERR_AUTH_BAD_SESSION' });
}

async function grpcCalls({ t, procs, alice }: Mesh): Promise<void> {
  const Channels = loadProto('channels.proto').agora.Channels;
  const Messages = loadProto('messages.proto').agora.Messages;
  const channels = new Channels(String(procs.channels.endpoints.grpc), grpc.credentials.createInsecure());
  const messages = new Messages(String(procs.messages.endpoints.grpc), grpc.credentials.createInsecure());
  t.after(() => {
    channels.close();
    messages.close();
  });
  assert.deepEqual(
    await unary<object, ExistsReply__Output>(
      channels,
      'Exists',
      { sesskey: alice, channel: 'busy' },
      { timeoutMs: 5000 },
    ),
    { exists: true },
  );
  const last = await unary<object, LastReply__Output>(
    messages,
    'Last',
    { sesskey: alice, channel: 'busy' },
    { timeoutMs: 5000 },
  );
  assert.equal(last.messageid, 100);
  assert.ok(last.last_modified > 1e12, `last_modified ${last.last_modified}`);
  await assert.rejects(unary(messages, 'Last', { sesskey: alice, channel: 'nope' }, { timeoutMs: 5000 }), {
    code: 'AGORA_ERR_CHANNEL_NOT_FOUND',
  });
}
