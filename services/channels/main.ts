/** The channels process (Procfile: channels): `Channels` on the bus and on gRPC. */
import { serviceMain } from '../../lib/rpc/run';
import { createSessionCache } from '../../lib/session-cache';
import { openStores } from '../../lib/store/index';
import { buildChannelsService } from './handlers';

serviceMain(
  'channels',
  (config) => config.channelsGrpcUrl,
  async (config, log, security) => {
    const stores = await openStores(config, log, ['channels']);
    const sessions = createSessionCache({
      authGrpcUrl: config.authGrpcUrl,
      timeoutMs: config.grpcTimeoutMs,
      log: log.child({ mod: 'sessions' }),
      credentials: security.client,
    });
    return {
      impl: buildChannelsService({ store: stores.channels, sessions }),
      health: stores.checks(),
      close: async () => {
        sessions.close();
        await stores.close();
      },
    };
  },
);
