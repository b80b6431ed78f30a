import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../lib/log';
import { CHANNEL_ACCESS_CACHE_MS, publicChannel, SHARED_CHANNEL_ACCESS_CACHE_MS } from '../../lib/permissions';
import type { RpcContext } from '../../lib/rpc/service';
import { ALICE, BOB, fakeSessions } from '../helpers/sessions';
import { MemoryChannelStore } from '../../lib/store/store-memory';
import {
  buildChannelsHandlers,
  buildChannelsService,
  channelNameProblem,
  permissionChanges,
} from '../../services/channels/handlers';

const ctx: RpcContext = { service: 'Channels', method: 'test', log: createLogger('test', 'silent') };

function setup() {
  // A clock stopped at 1000: the creates are stamped 1000, 1001, … (one more than the last).
  const store = new MemoryChannelStore(() => 1000);
  return { store, h: buildChannelsHandlers({ store, sessions: fakeSessions() }) };
}

test('channel names: what the documented rule accepts and refuses', () => {
  for (const ok of ['general', 'General', 'a', 'x'.repeat(64), 'dev-ops_2.0', '_private', '-dash', '0', 'a.b.c']) {
    assert.equal(channelNameProblem(ok), null, ok);
  }
  for (const bad of [
    '',
    'x'.repeat(65),
    '.hidden',
    'with space',
    '#general',
    'a/b',
    'ünïcode',
    'tab\t',
    'new\nline',
    ' lead',
    'trail ',
  ]) {
    assert.notEqual(channelNameProblem(bad), null, JSON.stringify(bad));
  }
  assert.notEqual(channelNameProblem(undefined), null);
  assert.notEqual(channelNameProblem(12), null);
});

test('Create refuses an invalid name with AGORA_ERR_CHANNEL_INVALID_NAME and stores nothing', async () => {
  const { h, store } = setup();
  for (const channel of ['', '.dot', 'a b', 'x'.repeat(65)]) {
    await assert.rejects(
      Promise.resolve(
        h.Create({ permissions: null, check_version: false, expected_version: 0, sesskey: ALICE, channel }, ctx),
      ),
      { code: 'AGORA_ERR_CHANNEL_INVALID_NAME', errno: 107 },
    );
  }
  assert.deepEqual(await store.list(), { names: [], channels: [], version: 0 });
});

test('Create is idempotent: the second create of a name succeeds with created=false', async () => {
  const { h } = setup();
  assert.deepEqual(
    await h.Create(
      { permissions: null, check_version: false, expected_version: 0, sesskey: ALICE, channel: 'general' },
      ctx,
    ),
    { channel: 'general', created: true, version: 1000, permissions: publicChannel('alice'), last_modified: 1000 },
  );
  assert.deepEqual(
    await h.Create(
      { permissions: null, check_version: false, expected_version: 0, sesskey: BOB, channel: 'general' },
      ctx,
    ),
    { channel: 'general', created: false, version: 1000, permissions: publicChannel('alice'), last_modified: 1000 },
  );
  assert.deepEqual(await h.List({ sesskey: BOB }, ctx), {
    channels: ['general'],
    version: 1000,
    last_modified: [1000],
  });
  assert.deepEqual(await h.Get({ sesskey: BOB, channel: 'general' }, ctx), {
    channel: 'general',
    permissions: publicChannel('alice'),
    last_modified: 1000,
  });
});

test('concurrent creates of one name: exactly one reports created', async () => {
  const { h } = setup();
  const replies = await Promise.all(
    Array.from({ length: 50 }, async () =>
      h.Create({ permissions: null, check_version: false, expected_version: 0, sesskey: ALICE, channel: 'race' }, ctx),
    ),
  );
  assert.equal(replies.filter((r) => r.created).length, 1);
});

test('Create with check_version: only at the list version, else CHANNEL_LIST_STALE naming the current one', async () => {
  const { h } = setup();
  const at = (expected_version: number, channel: string) =>
    h.Create({ permissions: null, check_version: true, expected_version, sesskey: ALICE, channel }, ctx);
  assert.deepEqual(await at(0, 'first'), {
    channel: 'first',
    created: true,
    version: 1000,
    permissions: publicChannel('alice'),
    last_modified: 1000,
  });
  await assert.rejects(Promise.resolve(at(0, 'second')), {
    code: 'AGORA_ERR_CHANNEL_LIST_STALE',
    errno: 114,
    status: 412,
    data: { info: 'current ETag: "1000"' },
  });
  const replies = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      Promise.resolve(at(1000, `racer${i}`)).then(
        (r) => r,
        (e: unknown) => e,
      ),
    ),
  );
  assert.equal(replies.filter((r) => !(r instanceof Error)).length, 1, 'one racer created');
  assert.deepEqual((await h.List({ sesskey: ALICE }, ctx)).version, 1001);
});

test('List answers every name, sorted, and names are case-sensitive', async () => {
  const { h } = setup();
  for (const channel of ['zeta', 'alpha', 'Beta', 'beta', 'alpha'])
    await h.Create({ permissions: null, check_version: false, expected_version: 0, sesskey: ALICE, channel }, ctx);
  assert.deepEqual(await h.List({ sesskey: ALICE }, ctx), {
    channels: ['Beta', 'alpha', 'beta', 'zeta'],
    version: 1003,
    last_modified: [1002, 1001, 1003, 1000],
  });
});

test('List and Create need a valid session; Exists does not (without one, it answers for anyone)', async () => {
  const { h } = setup();
  await assert.rejects(Promise.resolve(h.List({ sesskey: 7 }, ctx)), {
    code: 'AGORA_ERR_AUTH_BAD_SESSION',
    errno: 105,
  });
  await assert.rejects(
    Promise.resolve(
      h.Create({ permissions: null, check_version: false, expected_version: 0, sesskey: 7, channel: 'x' }, ctx),
    ),
    { code: 'AGORA_ERR_AUTH_BAD_SESSION' },
  );
  // A bad session wins over a bad name: the caller learns nothing without a session.
  await assert.rejects(
    Promise.resolve(
      h.Create({ permissions: null, check_version: false, expected_version: 0, sesskey: 7, channel: '.bad' }, ctx),
    ),
    { code: 'AGORA_ERR_AUTH_BAD_SESSION' },
  );
  assert.deepEqual(await h.Exists({ channel: 'x', sesskey: ALICE }, ctx), { exists: false });
  await h.Create({ permissions: null, check_version: false, expected_version: 0, sesskey: ALICE, channel: 'x' }, ctx);
  assert.deepEqual(await h.Exists({ channel: 'x', sesskey: ALICE }, ctx), { exists: true });
  assert.deepEqual(await h.Exists({ channel: '', sesskey: ALICE }, ctx), { exists: false });
  // A public channel is for signed-in users (system.Authenticated): absent to a call without a session.
  assert.deepEqual(await h.Exists({ channel: 'x', sesskey: 0 }, ctx), { exists: false });
  await h.Create(
    {
      permissions: { read: ['system.Everyone'], write: [] },
      check_version: false,
      expected_version: 0,
      sesskey: ALICE,
      channel: 'open',
    },
    ctx,
  );
  assert.deepEqual(await h.Exists({ channel: 'open', sesskey: 0 }, ctx), { exists: true });
  await assert.rejects(Promise.resolve(h.Exists({ channel: 'x', sesskey: 7 }, ctx)), {
    code: 'AGORA_ERR_AUTH_BAD_SESSION',
  });
});

test('Exists answers a private channel as absent to whoever may not read it', async () => {
  const { h } = setup();
  await create(h, ALICE, 'secret', { read: [], write: [] });
  assert.deepEqual(await h.Exists({ channel: 'secret', sesskey: ALICE }, ctx), { exists: true });
  assert.deepEqual(await h.Exists({ channel: 'secret', sesskey: BOB }, ctx), { exists: false });
  assert.deepEqual(await h.Exists({ channel: 'secret', sesskey: 0 }, ctx), { exists: false });
  assert.deepEqual(
    await h.Exists({ channel: 'secret', sesskey: BOB }, ctx),
    await h.Exists({ channel: 'never-made', sesskey: BOB }, ctx),
    'the same answer as a channel that does not exist',
  );
  await setPermissions(h, ALICE, 'secret', { read: ['account:bob'] });
  assert.deepEqual(await h.Exists({ channel: 'secret', sesskey: BOB }, ctx), { exists: true });
});

test('SetPermissions: ten concurrent writers naming the version they read each add a reader; none lost', async () => {
  const { h } = setup();
  await create(h, ALICE, 'team', { read: [], write: [] });
  const names = Array.from({ length: 10 }, (_, i) => `account:u${i}`);
  // The ten reads all happen before any write: of those naming one version, one writes, the others start again.
  await Promise.all(names.map((n) => addReader(h, 'team', n)));
  const { permissions } = await h.Get({ sesskey: ALICE, channel: 'team' }, ctx);
  assert.deepEqual([...(permissions?.read ?? [])].sort(), [...names].sort());
});

test('SetPermissions without a version: concurrent changes of the two kinds both land', async () => {
  const { h } = setup();
  await create(h, ALICE, 'team', { read: [], write: [] });
  // Both read the channel before either writes: the one that loses the race patches what the other wrote.
  await Promise.all([
    setPermissions(h, ALICE, 'team', { read: ['account:bob'] }),
    setPermissions(h, ALICE, 'team', { write: ['account:carol'] }),
  ]);
  const { permissions } = await h.Get({ sesskey: ALICE, channel: 'team' }, ctx);
  assert.deepEqual(permissions, { read: ['account:bob'], write: ['account:alice', 'account:carol'] });
});

test('SetPermissions with a version: compared in the store, AGORA_ERR_CHANNEL_STALE when it moved on', async () => {
  const { h, store } = setup();
  const made = Number((await create(h, ALICE, 'team', { read: [], write: [] })).last_modified);
  const asked = (expected: number) =>
    Promise.resolve(
      h.SetPermissions(
        {
          sesskey: ALICE,
          channel: 'team',
          permissions: { read: ['account:bob'], write: [] },
          set_read: true,
          set_write: false,
          check_version: true,
          expected_version: expected,
        },
        ctx,
      ),
    );
  await assert.rejects(asked(made - 1), {
    code: 'AGORA_ERR_CHANNEL_STALE',
    status: 412,
    errno: 114,
    data: { info: `current ETag: "${made}"` },
  });
  assert.deepEqual((await store.get('team'))?.permissions.read, [], 'nothing written');
  // A write between the service's read and its write: the store refuses the named version.
  const real = store.setPermissionsIfVersion.bind(store);
  store.setPermissionsIfVersion = async (name, permissions, version) => {
    await store.setPermissions(name, { read: ['account:carol'], write: ['account:alice'] });
    return real(name, permissions, version);
  };
  await assert.rejects(asked(made), { code: 'AGORA_ERR_CHANNEL_STALE', status: 412 });
  assert.deepEqual((await store.get('team'))?.permissions.read, ['account:carol'], "the other write's, kept");
  store.setPermissionsIfVersion = real;
  const now = (await store.get('team'))?.lastModified ?? 0;
  assert.deepEqual((await asked(now)).permissions, { read: ['account:bob'], write: ['account:alice'] });
});

test('the service is named and shaped as proto service Channels', () => {
  const impl = buildChannelsService({ store: new MemoryChannelStore(), sessions: fakeSessions() });
  assert.equal(impl.name, 'Channels');
  const methods = ['Access', 'Create', 'Exists', 'Get', 'List', 'SetPermissions'];
  assert.deepEqual(Object.keys(impl.definition).sort(), methods);
  assert.deepEqual(Object.keys(impl.handlers).sort(), methods);
  assert.deepEqual(impl.busExclude, ['Access'], 'Access needs no session: gRPC only');
});

test('Get answers an existing channel for a session, CHANNEL_NOT_FOUND otherwise, a bad key first', async () => {
  const { h } = setup();
  await h.Create(
    { permissions: null, check_version: false, expected_version: 0, sesskey: ALICE, channel: 'general' },
    ctx,
  );
  assert.deepEqual(await h.Get({ sesskey: BOB, channel: 'general' }, ctx), {
    channel: 'general',
    permissions: publicChannel('alice'),
    last_modified: 1000,
  });
  for (const channel of ['General', 'nope', '', '.dot']) {
    await assert.rejects(Promise.resolve(h.Get({ sesskey: BOB, channel }, ctx)), {
      code: 'AGORA_ERR_CHANNEL_NOT_FOUND',
      errno: 111,
    });
  }
  await assert.rejects(Promise.resolve(h.Get({ sesskey: 7, channel: 'general' }, ctx)), {
    code: 'AGORA_ERR_AUTH_BAD_SESSION',
  });
});

const create = (h: ReturnType<typeof setup>['h'], sesskey: number, channel: string, permissions: unknown = null) =>
  Promise.resolve(
    h.Create(
      {
        permissions: permissions as { read: string[]; write: string[] } | null,
        check_version: false,
        expected_version: 0,
        sesskey,
        channel,
      },
      ctx,
    ),
  );
const setPermissions = (
  h: ReturnType<typeof setup>['h'],
  sesskey: number,
  channel: string,
  permissions: { read?: string[]; write?: string[] },
) =>
  Promise.resolve(
    h.SetPermissions(
      {
        sesskey,
        channel,
        permissions: { read: permissions.read ?? [], write: permissions.write ?? [] },
        set_read: permissions.read !== undefined,
        set_write: permissions.write !== undefined,
        check_version: false,
        expected_version: 0,
      },
      ctx,
    ),
  );

/**
 * Add `principal` to the readers of `channel` (alice's) as a client does: read the channel, send
 * its readers plus one naming the version read (If-Match), and start again when that is stale.
 */
async function addReader(h: ReturnType<typeof setup>['h'], channel: string, principal: string): Promise<void> {
  for (;;) {
    const { permissions, last_modified } = await h.Get({ sesskey: ALICE, channel }, ctx);
    const request = {
      sesskey: ALICE,
      channel,
      permissions: { read: [...(permissions?.read ?? []), principal], write: [] },
      set_read: true,
      set_write: false,
      check_version: true,
      expected_version: Number(last_modified),
    };
    try {
      await h.SetPermissions(request, ctx);
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== 'AGORA_ERR_CHANNEL_STALE') throw e;
    }
  }
}

test('a private channel: listed, read and changed by its creator only; absent for the others', async () => {
  const { h } = setup();
  await create(h, ALICE, 'general');
  const made = await create(h, ALICE, 'secret', { read: [], write: [] });
  assert.deepEqual(made.permissions, { read: [], write: ['account:alice'] }, 'the creator gets write');
  assert.deepEqual((await h.List({ sesskey: ALICE }, ctx)).channels, ['general', 'secret']);
  assert.deepEqual(
    await h.List({ sesskey: BOB }, ctx),
    { channels: ['general'], version: 1001, last_modified: [1000] },
    "the version is the whole list's",
  );
  await assert.rejects(Promise.resolve(h.Get({ sesskey: BOB, channel: 'secret' }, ctx)), {
    code: 'AGORA_ERR_CHANNEL_NOT_FOUND',
    status: 404,
  });
  await assert.rejects(setPermissions(h, BOB, 'secret', { read: ['system.Authenticated'] }), {
    code: 'AGORA_ERR_CHANNEL_NOT_FOUND',
  });
  await assert.rejects(create(h, BOB, 'secret'), { code: 'AGORA_ERR_FORBIDDEN', status: 403, errno: 121 });
  // Shared for reading: bob reads it, may not change it.
  const shared = await setPermissions(h, ALICE, 'secret', { read: ['account:bob'] });
  assert.deepEqual(shared.permissions, { read: ['account:bob'], write: ['account:alice'] });
  assert.equal(shared.last_modified, 1002, 'a change of permissions is a write: stamped');
  assert.deepEqual(await h.Get({ sesskey: BOB, channel: 'secret' }, ctx), shared);
  assert.deepEqual(
    await h.List({ sesskey: BOB }, ctx),
    { channels: ['general', 'secret'], version: 1002, last_modified: [1000, 1002] },
    'a change of permissions moves the version: a list read before no longer matches',
  );
  await assert.rejects(setPermissions(h, BOB, 'secret', { write: ['account:bob'] }), {
    code: 'AGORA_ERR_FORBIDDEN',
    status: 403,
    errno: 121,
  });
  // Kinto's PATCH: the kind given is replaced, the other kept; the creator stays a writer.
  const opened = await setPermissions(h, ALICE, 'secret', { write: ['system.Authenticated'] });
  assert.deepEqual(opened.permissions, {
    read: ['account:bob'],
    write: ['system.Authenticated', 'account:alice'],
  });
  const editedByBob = await setPermissions(h, BOB, 'secret', { write: [] });
  assert.deepEqual(editedByBob.permissions?.write, ['account:alice', 'account:bob'], 'creator and editor kept');
});

test('permissions: unknown principals and kinds are refused with AGORA_ERR_PERMISSIONS_INVALID, nothing made', async () => {
  const { h, store } = setup();
  for (const bad of [
    { read: ['bob'], write: [] },
    { read: [], write: ['account:'] },
    { read: ['system.Nobody'], write: [] },
    { read: ['account:a b'], write: [] },
    { read: Array.from({ length: 65 }, (_, i) => `account:u${i}`), write: [] },
  ]) {
    await assert.rejects(create(h, ALICE, 'c', bad), {
      code: 'AGORA_ERR_PERMISSIONS_INVALID',
      status: 400,
      errno: 107,
    });
  }
  assert.equal(await store.exists('c'), false);
  await create(h, ALICE, 'c');
  await assert.rejects(setPermissions(h, ALICE, 'c', { read: ['everyone'] }), {
    code: 'AGORA_ERR_PERMISSIONS_INVALID',
  });
  assert.deepEqual((await store.get('c'))?.permissions, publicChannel('alice'), 'unchanged');
});

test('Access: whether a channel exists and its permissions, without a session', async () => {
  const { h } = setup();
  assert.deepEqual(await h.Access({ channel: 'x' }, ctx), { exists: false, permissions: null });
  assert.deepEqual(await h.Access({ channel: '.bad' }, ctx), { exists: false, permissions: null });
  await create(h, ALICE, 'x', { read: ['account:bob'], write: [] });
  assert.deepEqual(await h.Access({ channel: 'x' }, ctx), {
    exists: true,
    permissions: { read: ['account:bob'], write: ['account:alice'] },
  });
});

test('SetPermissions answers only once its change is announced; a refused change announces nothing', async () => {
  const store = new MemoryChannelStore(() => 1000);
  const announced: string[] = [];
  let release: () => void = () => undefined;
  const h = buildChannelsHandlers({
    store,
    sessions: fakeSessions(),
    announce: (channel) => {
      announced.push(channel);
      return new Promise((resolve) => (release = resolve));
    },
  });
  await Promise.resolve(
    h.Create({ permissions: null, check_version: false, expected_version: 0, sesskey: ALICE, channel: 'secret' }, ctx),
  );
  let answered = false;
  const change = setPermissions(h, ALICE, 'secret', { write: [] }).then((r) => {
    answered = true;
    return r;
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(announced, ['secret']);
  assert.equal(answered, false, 'not before the announcement is done');
  release();
  assert.deepEqual((await change).permissions?.write, ['account:alice']);
  await assert.rejects(setPermissions(h, BOB, 'secret', { write: [] }), { code: 'AGORA_ERR_FORBIDDEN' });
  assert.deepEqual(announced, ['secret'], 'nothing changed, nothing announced');
});

test('a change of permissions is answered once no copy from before it can answer a post', async () => {
  const waits: number[] = [];
  const wait = (ms: number): Promise<void> => {
    waits.push(ms);
    return Promise.resolve();
  };
  await permissionChanges(undefined, wait)('general');
  assert.equal(waits.length, 1);
  assert.ok(waits[0] > CHANNEL_ACCESS_CACHE_MS, 'in memory: the copy Messages keeps has expired');
  const told: string[][] = [];
  let published = true;
  const fanout = {
    invalidate: (keys: readonly string[]): Promise<boolean> => {
      told.push([...keys]);
      return Promise.resolve(published);
    },
  };
  const announce = permissionChanges(fanout, wait);
  await announce('general');
  assert.deepEqual(told, [['general']]);
  assert.equal(waits.length, 1, 'announced to every messages instance: no wait');
  published = false;
  await announce('other');
  assert.deepEqual(told, [['general'], ['other']]);
  assert.equal(waits.length, 2);
  assert.ok(waits[1] > SHARED_CHANNEL_ACCESS_CACHE_MS, 'not published: the copies kept with a topic have expired');
});
