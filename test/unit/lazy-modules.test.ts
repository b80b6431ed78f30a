/**
 * A process loads only the libraries its configuration uses (README.md "The parts"): in memory,
 * opening the stores loads neither pg nor ioredis, and with CURVE off the bus loads no libsodium.
 * This file imports nothing else that would load them, so require.cache tells.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { peerMechanism } from '../../lib/bus/security';
import { sodiumReady } from '../../lib/bus/sodium';
import { defaultConfig } from '../../lib/config';
import { createLogger } from '../../lib/log';
import { openStores } from '../../lib/store/index';

const log = createLogger('test', 'silent');

/** Whether a file of the package `name` is loaded in this process. */
function loaded(name: string): boolean {
  return Object.keys(require.cache).some((file) => file.includes(`/node_modules/${name}/`));
}

test('in memory, opening every store loads neither pg nor ioredis', async () => {
  const stores = await openStores(defaultConfig(), log, [
    'users',
    'sessions',
    'channels',
    'messages',
    'nodes',
    'failures',
    'routes',
    'idempotency',
  ]);
  assert.deepEqual(stores.backends, ['memory']);
  assert.equal(loaded('pg'), false, 'pg is loaded');
  assert.equal(loaded('ioredis'), false, 'ioredis is loaded');
  await stores.close();
});

test('libsodium is loaded by sodiumReady, not by the bus with CURVE off', async () => {
  assert.equal(await peerMechanism({ ...defaultConfig(), busCurve: 'off' }), undefined);
  assert.equal(loaded('libsodium-wrappers'), false, 'libsodium-wrappers is loaded with CURVE off');
  await sodiumReady();
  assert.equal(loaded('libsodium-wrappers'), true);
});
