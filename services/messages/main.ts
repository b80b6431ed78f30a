/**
 * The messages process (Procfile: messages): `Messages` on the bus and on gRPC, with the
 * `Stream` of posted messages on gRPC (./stream.ts: fed by the store's topic, so that a stream
 * on any instance hears the posts of every instance). It asks Channels whether a channel
 * exists, and its permissions, by typed gRPC (Channels.Access), with a deadline, remembering
 * each answer a while (./handlers.ts `cacheAccess`): in memory a second at most, which Channels waits
 * out before it answers a change; with a shared backend, Channels announces each change of a channel's
 * permissions on the store's topic `channels`, and this instance drops the channel before Channels
 * answers the change (lib/fanout.ts), so it keeps an answer 10 s (lib/permissions.ts
 * `SHARED_CHANNEL_ACCESS_CACHE_MS`, what Channels waits out when it cannot announce); while it cannot
 * hear the topic it keeps nothing.
 */
import { grpcChannelOptions, grpcTarget } from '../../lib/config';
import { InvalidationFanout } from '../../lib/fanout';
import { CHANNEL_ACCESS_CACHE_MS, SHARED_CHANNEL_ACCESS_CACHE_MS } from '../../lib/permissions';
import type { ChannelAccess__Output } from '../../lib/gen/agora/ChannelAccess';
import { unary } from '../../lib/rpc/grpc';
import { loadProto } from '../../lib/rpc/proto';
import { serviceMain } from '../../lib/rpc/run';
import { createSessionCache } from '../../lib/session-cache';
import { openStores } from '../../lib/store/index';
import { buildMessagesService, cacheAccess, type ChannelAccess } from './handlers';
import { MessageStreamHub } from './stream';

/** How often expired idempotency keys of posts are removed from the store. */
const KEY_SWEEP_MS = 60_000;

serviceMain('messages', 'messagesGrpcUrl', async (config, log, security) => {
  // On PostgreSQL the store announces each post to the hub's topic in the transaction that stores it.
  const stores = await openStores(config, log, ['messages'], { announcePosts: true });
  const sessions = createSessionCache({
    authGrpcUrl: config.authGrpcUrl,
    timeoutMs: config.grpcTimeoutMs,
    log: log.child({ mod: 'sessions' }),
    credentials: security.client,
  });
  const Channels = loadProto('channels.proto').agora.Channels;
  const channels = new Channels(
    grpcTarget(config.channelsGrpcUrl),
    security.client,
    grpcChannelOptions(config.channelsGrpcUrl),
  );
  // The caller's deadline, but never longer than a typed call between services may take.
  const access: ChannelAccess = async (channel, ctx) => {
    const reply = await unary<{ channel: string }, ChannelAccess__Output>(
      channels,
      'Access',
      { channel },
      { deadline: ctx.deadline, reqId: ctx.reqId, timeoutMs: config.grpcTimeoutMs },
    );
    return reply.exists ? { read: reply.permissions?.read ?? [], write: reply.permissions?.write ?? [] } : undefined;
  };
  const changes = stores.broadcast('channels');
  const accessCache = cacheAccess(
    access,
    changes === undefined ? CHANNEL_ACCESS_CACHE_MS : SHARED_CHANNEL_ACCESS_CACHE_MS,
  );
  const fanout =
    changes === undefined
      ? undefined
      : new InvalidationFanout<string>({
          broadcast: changes,
          hub: accessCache,
          log: log.child({ mod: 'fanout' }),
          isKey: (key): key is string => typeof key === 'string',
        });
  await fanout?.start(config.storeTimeoutMs);
  // In memory (no broadcast) there is no other instance: the hub announces to itself.
  // Elsewhere the topic is heard only while streams are open here (./stream.ts).
  const hub = new MessageStreamHub(stores.broadcast('messages'), log.child({ mod: 'stream' }));
  // Posts' idempotency keys are kept AGORA_IDEMPOTENCY_TTL_S, then swept (by every instance: a delete is idempotent).
  const sweep = setInterval(() => {
    stores.messages.pruneKeys(Date.now()).catch((err: unknown) => log.warn({ err }, 'post key sweep failed'));
  }, KEY_SWEEP_MS).unref();
  return {
    impl: buildMessagesService(
      {
        store: stores.messages,
        sessions,
        channelAccess: accessCache,
        retain: config.messagesRetained,
        maxBytes: config.messageMaxBytes,
        keyTtlMs: config.idempotencyTtlS * 1000,
      },
      hub,
    ),
    health: stores.checks(),
    drain: () => hub.close(),
    close: async () => {
      clearInterval(sweep);
      fanout?.close();
      hub.close();
      sessions.close();
      channels.close();
      await stores.close();
    },
  };
});
