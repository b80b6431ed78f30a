/** The channels process (Procfile: channels): `Channels` on the bus and on gRPC. */
import { serviceMain } from '../../lib/rpc/run';
import { createSessionCache } from '../../lib/session-cache';
import { MemoryChannelStore } from '../../lib/store/store-memory';
import { buildChannelsService } from './handlers';

serviceMain('channels', (config) => config.channelsGrpcUrl, (config, log) => {
  const sessions = createSessionCache({ authGrpcUrl: config.authGrpcUrl, timeoutMs: config.grpcTimeoutMs, log: log.child({ mod: 'sessions' }) });
  return {
    impl: buildChannelsService({ store: new MemoryChannelStore(), sessions }),
    close: () => sessions.close(),
  };
});
