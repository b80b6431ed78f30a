/** The auth process (Procfile: auth): `Auth` on the bus and on gRPC, with the Watch stream on gRPC. */
import { serviceMain } from '../../lib/rpc/run';
import { MemorySessionStore, MemoryUserStore } from '../../lib/store/store-memory';
import { buildAuth } from './handlers';

serviceMain('auth', (config) => config.authGrpcUrl, (config, log) => {
  const auth = buildAuth({ users: new MemoryUserStore(), sessions: new MemorySessionStore(), config, log: log.child({ mod: 'auth' }) });
  return { impl: auth.impl, drain: () => auth.close(), close: () => auth.close() };
});
