/** The auth process (Procfile: auth): `Auth` on the bus and on gRPC, with the Watch stream on gRPC. */
import { serviceMain } from '../../lib/rpc/run';
import { openStores } from '../../lib/store/index';
import { buildAuth } from './handlers';

serviceMain('auth', 'authGrpcUrl', async (config, log) => {
  const stores = await openStores(config, log, ['users', 'sessions', 'failures']);
  // Several auth instances can only share state through a backend; that backend then carries
  // their session invalidations too (lib/fanout.ts). In memory there is one instance.
  const auth = buildAuth({
    users: stores.users,
    sessions: stores.sessions,
    failures: stores.failures,
    broadcast: stores.broadcast('auth'),
    config,
    log: log.child({ mod: 'auth' }),
  });
  await auth.start(config.storeTimeoutMs);
  return {
    impl: auth.impl,
    health: stores.checks(),
    drain: () => auth.close(),
    close: async () => {
      auth.close();
      await stores.close();
    },
  };
});
