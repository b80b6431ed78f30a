/**
 * The channels process (Procfile: channels): `Channels` on the bus and on gRPC. With a shared
 * backend, a change of a channel's permissions is announced on the store's topic `channels`
 * (lib/fanout.ts) and answered once every messages instance has dropped its copy of them. In
 * memory there is no topic: a change is answered once the copy Messages may keep has expired
 * (./handlers.ts `permissionChanges`).
 */
import { InvalidationFanout } from '../../lib/fanout';
import { serviceMain } from '../../lib/rpc/run';
import { createSessionCache } from '../../lib/session-cache';
import { openStores } from '../../lib/store/index';
import { buildChannelsService, permissionChanges } from './handlers';

const isKey = (key: unknown): key is string => typeof key === 'string';

serviceMain('channels', 'channelsGrpcUrl', async (config, log, security) => {
  const stores = await openStores(config, log, ['channels']);
  const sessions = createSessionCache({
    authGrpcUrl: config.authGrpcUrl,
    timeoutMs: config.grpcTimeoutMs,
    log: log.child({ mod: 'sessions' }),
    credentials: security.client,
  });
  const topic = stores.broadcast('channels');
  // Channels keeps no copy of its own: its part is to announce, and to wait for the acks.
  const hub = { invalidate: async () => undefined, fence: () => undefined };
  const fanout =
    topic === undefined
      ? undefined
      : new InvalidationFanout<string>({ broadcast: topic, hub, log: log.child({ mod: 'fanout' }), isKey });
  await fanout?.start(config.storeTimeoutMs);
  const announce = permissionChanges(fanout);
  return {
    impl: buildChannelsService({ store: stores.channels, sessions, announce }),
    health: stores.checks(),
    close: async () => {
      fanout?.close();
      sessions.close();
      await stores.close();
    },
  };
});
