/**
 * A service's health checks, as a storage backend registers them, reach the gateway's
 * /__heartbeat__: the real broker (its own process), the Channels service served by
 * lib/rpc/run.ts with checks of its own, and the gateway app over a real bus client.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClient } from '../../lib/bus/client';
import { HEALTH_METHOD, HealthChecks } from '../../lib/health';
import { createLogger } from '../../lib/log';
import { runService } from '../../lib/rpc/run';
import { createSessionCache } from '../../lib/session-cache';
import { MemoryChannelStore } from '../../lib/store/store-memory';
import { buildApp } from '../../gateway/app';
import { buildChannelsService } from '../../services/channels/handlers';
import { waitForService } from '../helpers/bus';
import { startBroker } from '../helpers/proc';

test("a service answers its registered checks on the bus, and the gateway's heartbeat names the failing one", async (t) => {
  const broker = await startBroker();
  t.after(() => broker.stop());
  const busUrl = String(broker.endpoints.bus);
  const log = createLogger('test', 'silent');

  // 1. Channels with two checks, as a storage backend would register them.
  let cacheUp = true;
  const health = new HealthChecks().add('storage', () => true).add('cache', () => cacheUp);
  const sessions = createSessionCache({ authGrpcUrl: '127.0.0.1:1', timeoutMs: 500, log });
  const running = await runService(buildChannelsService({ store: new MemoryChannelStore(), sessions }), {
    busUrl,
    grpcUrl: '127.0.0.1:0',
    concurrency: 2,
    heartbeatMs: 2500,
    heartbeatLiveness: 3,
    log,
    health,
  });
  const client = createClient({ endpoint: busUrl, timeoutMs: 5000, caller: 'test' });
  t.after(async () => {
    client.close();
    await running.close();
    sessions.close();
  });
  await waitForService(client, 'Channels', 10_000);

  // 2. On the bus: the method answers the checks.
  assert.deepEqual(await client.call('Channels', HEALTH_METHOD, []), { storage: true, cache: true });
  cacheUp = false;
  assert.deepEqual(await client.call('Channels', HEALTH_METHOD, []), { storage: true, cache: false });

  // 3. Through the gateway: the failing check is named; services with no worker fail.
  const app = buildApp({
    bus: client,
    broker: client,
    log,
    config: { busMaxBodyBytes: 1_048_576, requestTimeoutMs: 5000, healthTimeoutMs: 2000 },
  });
  t.after(() => app.close());
  const down = await app.inject({ method: 'GET', url: '/__heartbeat__' });
  assert.equal(down.statusCode, 503);
  assert.deepEqual(down.json(), {
    broker: true,
    Auth: false,
    'Channels.storage': true,
    'Channels.cache': false,
    Channels: false,
    Messages: false,
    Compute: false,
    Routes: false,
  });
  cacheUp = true;
  const body = (await app.inject({ method: 'GET', url: '/__heartbeat__' })).json<Record<string, boolean>>();
  assert.equal(body.Channels, true);
  assert.equal(body['Channels.cache'], true);
});
