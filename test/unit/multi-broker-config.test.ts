/**
 * Several brokers in the configuration (README "Several brokers"): AGORA_BUS_URL lists them,
 * each broker binds one (AGORA_BROKER_BIND), and a broker given a list and no bind refuses it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brokerCurve } from '../../lib/bus/security';
import { busEndpoints } from '../../lib/bus/zmtp';
import { brokerEndpoint, defaultConfig, loadConfig } from '../../lib/config';
import { isAgoraError } from '../../lib/errors';

test('AGORA_BUS_URL lists several brokers with fixed ports, each once', () => {
  const config = loadConfig({ AGORA_BUS_URL: ' tcp://10.0.0.1:5555 , tcp://10.0.0.2:5555,ipc:///run/agora.sock' });
  assert.equal(config.busUrl, 'tcp://10.0.0.1:5555,tcp://10.0.0.2:5555,ipc:///run/agora.sock');
  assert.deepEqual(busEndpoints(config.busUrl), [
    'tcp://10.0.0.1:5555',
    'tcp://10.0.0.2:5555',
    'ipc:///run/agora.sock',
  ]);
  for (const bad of ['tcp://a:5555,', 'tcp://a:5555,tcp://b:0', 'tcp://a:5555,tcp://b:*', 'tcp://a:1,tcp://a:1']) {
    assert.throws(
      () => loadConfig({ AGORA_BUS_URL: bad }),
      (e: unknown) => isAgoraError(e) && /AGORA_BUS_URL/.test(e.message),
      bad,
    );
  }
});

test('a broker binds AGORA_BROKER_BIND, else a one-broker AGORA_BUS_URL; a list without a bind is refused', () => {
  const list = 'tcp://127.0.0.1:5555,tcp://127.0.0.1:5556';
  assert.equal(brokerEndpoint({ busUrl: 'tcp://127.0.0.1:0', brokerBind: '' }), 'tcp://127.0.0.1:*');
  assert.equal(brokerEndpoint({ busUrl: list, brokerBind: 'tcp://127.0.0.1:5556' }), 'tcp://127.0.0.1:5556');
  assert.throws(
    () => brokerEndpoint({ busUrl: list, brokerBind: '' }),
    (e: unknown) => isAgoraError(e) && e.code === 'AGORA_ERR_CONFIG_INVALID' && /AGORA_BROKER_BIND/.test(e.message),
  );
  assert.equal(loadConfig({ AGORA_BROKER_BIND: 'tcp://0.0.0.0:5556' }).brokerBind, 'tcp://0.0.0.0:5556');
  assert.throws(() => loadConfig({ AGORA_BROKER_BIND: 'tcp://a:1,tcp://b:2' }), /AGORA_BROKER_BIND/);
});

test('CURVE off: the broker refuses to bind beyond loopback through AGORA_BROKER_BIND too', async () => {
  const config = { ...defaultConfig(), busUrl: 'tcp://127.0.0.1:5555,tcp://10.0.0.2:5555' };
  assert.equal(await brokerCurve({ ...config, brokerBind: 'tcp://127.0.0.1:5555' }), undefined);
  await assert.rejects(
    brokerCurve({ ...config, brokerBind: 'tcp://0.0.0.0:5555' }),
    (e: unknown) => isAgoraError(e) && /AGORA_BROKER_BIND tcp:\/\/0\.0\.0\.0:5555 listens beyond/.test(e.message),
  );
});
