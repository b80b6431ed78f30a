/**
 * lib/config.ts: defaults, parsing and validation of every kind of variable, one error
 * naming every bad variable, the PORT fallback, `.env` files and `bindable`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  bindable,
  defaultConfig,
  grpcChannelOptions,
  grpcTarget,
  loadConfig,
  VARIABLES,
  withDotEnv,
  type Config,
} from '../../lib/config';
import { isAgoraError, type AgoraError } from '../../lib/errors';

/** The AgoraError loadConfig throws for `env`. */
function invalid(env: NodeJS.ProcessEnv): AgoraError {
  let caught: unknown;
  assert.throws(
    () => loadConfig(env),
    (e: unknown) => {
      caught = e;
      return true;
    },
  );
  assert.ok(isAgoraError(caught), `an AgoraError, got ${String(caught)}`);
  assert.equal(caught.code, 'AGORA_ERR_CONFIG_INVALID');
  assert.equal(caught.errno, 999);
  return caught;
}

function problems(env: NodeJS.ProcessEnv): string[] {
  return (invalid(env).data as { problems: string[] }).problems;
}

test('defaultConfig returns a fresh object holding every default, and loadConfig of an empty env equals it, frozen', () => {
  const a = defaultConfig();
  const b = defaultConfig();
  assert.notEqual(a, b);
  a.heartbeatMs = 1;
  assert.equal(b.heartbeatMs, 2500);
  assert.equal(defaultConfig().heartbeatMs, 2500);

  const config = loadConfig({});
  assert.deepEqual({ ...config }, defaultConfig());
  assert.ok(Object.isFrozen(config));
  assert.throws(() => {
    (config as Config).heartbeatMs = 5;
  }, TypeError);
  // The defaults run everything on loopback.
  assert.equal(config.busUrl, 'tcp://127.0.0.1:5555');
  assert.equal(config.httpPort, 8080);
  assert.equal(config.logLevel, 'info');
  assert.equal(config.heartbeatLiveness, 3);
  assert.equal(config.busMaxBodyBytes, 1_048_576);
  assert.equal(config.brokerQueueMax, 10_000);
  assert.match(config.authGrpcUrl, /^127\.0\.0\.1:\d+$/);
});

test('VARIABLES declares each config key once, under a unique AGORA_ name', () => {
  const keys = VARIABLES.map((v) => v.key);
  const envs = VARIABLES.map((v) => v.env);
  assert.equal(new Set(keys).size, keys.length);
  assert.equal(new Set(envs).size, envs.length);
  assert.deepEqual([...keys].sort(), Object.keys(defaultConfig()).sort());
  for (const v of VARIABLES) {
    assert.match(v.env, /^AGORA_[A-Z0-9_]+$/);
    assert.ok(v.doc.length > 0, `${v.env} has a doc line`);
    // Every default passes its own parser.
    assert.deepEqual(v.parse(String(v.def)), v.def, v.env);
  }
});

test('integers: trimmed, bounded, and nothing but digits', () => {
  assert.equal(loadConfig({ AGORA_HEARTBEAT_MS: '100' }).heartbeatMs, 100);
  assert.equal(loadConfig({ AGORA_HEARTBEAT_MS: ' 250 ' }).heartbeatMs, 250);
  assert.equal(loadConfig({ AGORA_HEARTBEAT_MS: '10' }).heartbeatMs, 10);
  assert.equal(loadConfig({ AGORA_HEARTBEAT_MS: '600000' }).heartbeatMs, 600_000);
  assert.equal(loadConfig({ AGORA_BROKER_QUEUE_MAX: '0' }).brokerQueueMax, 0);
  for (const bad of ['abc', '1.5', '1e3', '0x10', '12abc', '-']) {
    assert.deepEqual(problems({ AGORA_HEARTBEAT_MS: bad }), [
      `AGORA_HEARTBEAT_MS must be an integer, got ${JSON.stringify(bad)}`,
    ]);
  }
  assert.deepEqual(problems({ AGORA_HEARTBEAT_MS: '9' }), ['AGORA_HEARTBEAT_MS must be between 10 and 600000, got 9']);
  assert.deepEqual(problems({ AGORA_HEARTBEAT_MS: '600001' }), [
    'AGORA_HEARTBEAT_MS must be between 10 and 600000, got 600001',
  ]);
  assert.deepEqual(problems({ AGORA_HEARTBEAT_LIVENESS: '-1' }), [
    'AGORA_HEARTBEAT_LIVENESS must be between 1 and 100, got -1',
  ]);
});

test('an empty value counts as unset', () => {
  assert.equal(loadConfig({ AGORA_HEARTBEAT_MS: '' }).heartbeatMs, 2500);
  assert.equal(loadConfig({ AGORA_LOG_LEVEL: '' }).logLevel, 'info');
});

test('log levels, booleans, host:port and ZeroMQ endpoints', () => {
  assert.equal(loadConfig({ AGORA_LOG_LEVEL: ' DEBUG ' }).logLevel, 'debug');
  assert.equal(loadConfig({ AGORA_LOG_LEVEL: 'silent' }).logLevel, 'silent');
  assert.match(
    problems({ AGORA_LOG_LEVEL: 'loud' })[0],
    /^AGORA_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"$/,
  );

  for (const yes of ['1', 'true', 'TRUE', 'yes', 'on', ' On '])
    assert.equal(loadConfig({ AGORA_OPEN_REGISTRATION: yes }).openRegistration, true, yes);
  for (const no of ['0', 'false', 'no', 'off', 'OFF'])
    assert.equal(loadConfig({ AGORA_OPEN_REGISTRATION: no }).openRegistration, false, no);
  assert.deepEqual(problems({ AGORA_OPEN_REGISTRATION: 'maybe' }), [
    'AGORA_OPEN_REGISTRATION must be true or false, got "maybe"',
  ]);

  for (const good of ['127.0.0.1:0', 'localhost:50051', 'auth.internal:65535', '[::1]:50051']) {
    assert.equal(loadConfig({ AGORA_AUTH_GRPC_URL: good }).authGrpcUrl, good);
  }
  for (const bad of ['127.0.0.1', ':80', 'host:70000', 'host:port', 'http://h:1']) {
    assert.match(problems({ AGORA_AUTH_GRPC_URL: bad })[0], /^AGORA_AUTH_GRPC_URL must be host:port/, bad);
  }

  for (const good of ['tcp://127.0.0.1:0', 'tcp://127.0.0.1:*', 'tcp://broker:5555', 'ipc:///tmp/agora.sock']) {
    assert.equal(loadConfig({ AGORA_BUS_URL: good }).busUrl, good);
  }
  for (const bad of [
    'http://127.0.0.1:5555',
    'tcp://127.0.0.1',
    '127.0.0.1:5555',
    'tcp://127.0.0.1:port',
    'inproc://bus',
  ]) {
    assert.match(problems({ AGORA_BUS_URL: bad })[0], /^AGORA_BUS_URL must be a ZeroMQ endpoint/, bad);
  }
});

test('every bad variable is named in one error, in one problem each', () => {
  const err = invalid({
    AGORA_HEARTBEAT_MS: 'abc',
    AGORA_LOG_LEVEL: 'loud',
    AGORA_BUS_URL: 'nope',
    AGORA_HEARTBEAT_LIVENESS: '3',
  });
  const list = (err.data as { problems: string[] }).problems;
  assert.equal(list.length, 3);
  for (const name of ['AGORA_HEARTBEAT_MS', 'AGORA_LOG_LEVEL', 'AGORA_BUS_URL']) {
    assert.equal(list.filter((p) => p.startsWith(`${name} `)).length, 1, name);
    assert.ok(err.message.includes(name), `${name} in the message`);
  }
  assert.ok(!err.message.includes('AGORA_HEARTBEAT_LIVENESS'));
  assert.match(err.message, /^Invalid configuration: /);
});

test('the metrics token: empty is none; a short or spaced one is refused without being shown', () => {
  assert.equal(loadConfig({}).metricsToken, '');
  assert.equal(loadConfig({ AGORA_METRICS_TOKEN: 'abcdefghijklmnop' }).metricsToken, 'abcdefghijklmnop');
  for (const bad of ['short-secret', 'sixteen chars ok!', 'é'.repeat(16)]) {
    const found = problems({ AGORA_METRICS_TOKEN: bad });
    assert.equal(found.length, 1);
    assert.match(found[0], /^AGORA_METRICS_TOKEN must be 16 to 256 visible ASCII characters/);
    assert.equal(found[0].includes(bad), false, 'the secret is not echoed');
  }
});

test('the gateway port: AGORA_HTTP_PORT, else PORT, else 8080; a bad PORT is named PORT', () => {
  assert.equal(loadConfig({ PORT: '3000' }).httpPort, 3000);
  assert.equal(loadConfig({ PORT: '3000', AGORA_HTTP_PORT: '4000' }).httpPort, 4000);
  assert.equal(loadConfig({ PORT: '' }).httpPort, 8080);
  assert.equal(loadConfig({ PORT: '3000', AGORA_HTTP_PORT: '' }).httpPort, 3000, 'an empty AGORA_HTTP_PORT is unset');
  assert.deepEqual(problems({ PORT: 'web', AGORA_HTTP_PORT: '' }), ['PORT must be an integer, got "web"']);
  assert.deepEqual(problems({ PORT: 'web' }), ['PORT must be an integer, got "web"']);
  assert.deepEqual(problems({ PORT: '3000', AGORA_HTTP_PORT: '70000' }), [
    'AGORA_HTTP_PORT must be between 0 and 65535, got 70000',
  ]);
  // The caller's env object is not changed.
  const env = { PORT: '3000' };
  loadConfig(env);
  assert.deepEqual(env, { PORT: '3000' });
});

test('withDotEnv adds the variables of a .env file beneath the environment', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'agora-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, '.env');
  writeFileSync(
    file,
    [
      '# a comment',
      '',
      'AGORA_HEARTBEAT_MS=150',
      'export AGORA_LOG_LEVEL=debug',
      'AGORA_BUS_URL="tcp://127.0.0.1:6000"',
      "AGORA_AUTH_GRPC_URL='127.0.0.1:7000'",
      '  AGORA_HEARTBEAT_LIVENESS = 5  ',
      'not a variable line',
      'AGORA_HTTP_PORT=9000\r',
      'AGORA_BROKER_QUEUE_MAX=1',
    ].join('\n'),
  );
  const env = withDotEnv({ AGORA_BROKER_QUEUE_MAX: '7', OTHER: 'x' }, file);
  assert.deepEqual(env, {
    AGORA_HEARTBEAT_MS: '150',
    AGORA_LOG_LEVEL: 'debug',
    AGORA_BUS_URL: 'tcp://127.0.0.1:6000',
    AGORA_AUTH_GRPC_URL: '127.0.0.1:7000',
    AGORA_HEARTBEAT_LIVENESS: '5',
    AGORA_HTTP_PORT: '9000',
    AGORA_BROKER_QUEUE_MAX: '7', // the environment wins
    OTHER: 'x',
  });
  const config = loadConfig(env);
  assert.equal(config.heartbeatMs, 150);
  assert.equal(config.busUrl, 'tcp://127.0.0.1:6000');
  assert.equal(config.brokerQueueMax, 7);

  // No file: the environment as it is.
  const plain = { A: '1' };
  assert.equal(withDotEnv(plain, path.join(dir, 'missing.env')), plain);
});

test('bindable turns port 0 into ZeroMQ\'s "any port" and leaves other endpoints alone', () => {
  assert.equal(bindable('tcp://127.0.0.1:0'), 'tcp://127.0.0.1:*');
  assert.equal(bindable('tcp://127.0.0.1:*'), 'tcp://127.0.0.1:*');
  assert.equal(bindable('tcp://127.0.0.1:5555'), 'tcp://127.0.0.1:5555');
  assert.equal(bindable('tcp://127.0.0.1:10'), 'tcp://127.0.0.1:10');
  assert.equal(bindable('tcp://127.0.0.1:1000'), 'tcp://127.0.0.1:1000');
  assert.equal(bindable('ipc:///tmp/agora.sock'), 'ipc:///tmp/agora.sock');
});

test('storage and several-instance settings: database and Redis URLs, key prefix, gRPC address lists and bind', () => {
  const c = loadConfig({
    AGORA_DATABASE_URL: 'postgres://agora:pw@db:5432/agora',
    AGORA_REDIS_URL: 'redis://cache:6379/2',
    AGORA_DATABASE_POOL_MAX: '4',
    AGORA_GRPC_BIND: '0.0.0.0:6000',
  });
  assert.equal(c.databaseUrl, 'postgres://agora:pw@db:5432/agora');
  assert.equal(c.redisUrl, 'redis://cache:6379/2');
  assert.equal(c.databasePoolMax, 4);
  assert.equal(c.grpcBind, '0.0.0.0:6000');
  assert.equal(loadConfig({ AGORA_DATABASE_URL: 'postgresql://h/db' }).databaseUrl, 'postgresql://h/db');
  assert.match(
    problems({ AGORA_DATABASE_URL: 'mysql://h/db' })[0],
    /^AGORA_DATABASE_URL must start with postgres:\/\/ or postgresql:\/\//,
  );
  assert.match(problems({ AGORA_DATABASE_URL: 'not a url' })[0], /^AGORA_DATABASE_URL must be a URL/);
  assert.match(
    problems({ AGORA_REDIS_URL: 'http://cache' })[0],
    /^AGORA_REDIS_URL must start with redis:\/\/ or rediss:\/\//,
  );
  assert.match(problems({ AGORA_REDIS_PREFIX: 'has space' })[0], /^AGORA_REDIS_PREFIX must be 1 to 64 characters/);
  assert.match(problems({ AGORA_GRPC_BIND: 'nohost' })[0], /^AGORA_GRPC_BIND must be host:port/);
  const blank = loadConfig({ AGORA_DATABASE_URL: ' ', AGORA_REDIS_URL: ' ', AGORA_GRPC_BIND: ' ' });
  assert.deepEqual([blank.databaseUrl, blank.redisUrl, blank.grpcBind], ['', '', ''], 'a blank value means none');

  const list = loadConfig({ AGORA_AUTH_GRPC_URL: '10.0.0.1:50051, 10.0.0.2:50051' }).authGrpcUrl;
  assert.equal(list, '10.0.0.1:50051,10.0.0.2:50051');
  assert.equal(grpcTarget(list), 'ipv4:10.0.0.1:50051,10.0.0.2:50051');
  assert.equal(grpcTarget('auth.internal:50051'), 'auth.internal:50051', 'a single address is dialled as it is');
  assert.deepEqual(JSON.parse(String(grpcChannelOptions(list)['grpc.service_config'])), {
    loadBalancingConfig: [{ round_robin: {} }],
  });
  const backoff = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 2000 };
  assert.deepEqual(
    grpcChannelOptions('auth.internal:50051'),
    backoff,
    'one address: no balancer, a short reconnect backoff',
  );
  assert.equal(grpcChannelOptions(list)['grpc.max_reconnect_backoff_ms'], 2000);
  assert.match(
    problems({ AGORA_AUTH_GRPC_URL: 'auth1:50051,auth2:50051' })[0],
    /^AGORA_AUTH_GRPC_URL must list IPv4 host:port entries/,
  );
});

test('routing settings: the proxy domain in lower case, its port, the administrators as a list', () => {
  const config = loadConfig({
    AGORA_PROXY_DOMAIN: ' Nodes.Example.COM. ',
    AGORA_PROXY_PORT: '443',
    AGORA_ADMINS: ' root , ann@example.com,,',
    AGORA_ROUTES_GRPC_URL: '10.0.0.1:50056,10.0.0.2:50056',
  });
  assert.equal(config.proxyDomain, 'nodes.example.com');
  assert.equal(config.proxyPort, 443);
  assert.deepEqual(config.admins, ['root', 'ann@example.com']);
  assert.equal(config.routesGrpcUrl, '10.0.0.1:50056,10.0.0.2:50056');
  assert.deepEqual(loadConfig({}).admins, [], 'nobody by default');
  for (const [env, value] of [
    ['AGORA_PROXY_DOMAIN', 'no spaces.example'],
    ['AGORA_PROXY_DOMAIN', `${'a'.repeat(60)}.${'b'.repeat(60)}.com`],
    ['AGORA_PROXY_DOMAIN', 'under_score.example'],
    ['AGORA_PROXY_PORT', '65536'], // 0 is allowed: the proxy then picks a free port (tests)
    ['AGORA_ADMINS', 'root,not a name'],
  ])
    assert.match(invalid({ [env]: value }).message, new RegExp(env), `${env}=${value}`);
});
