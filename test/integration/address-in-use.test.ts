/**
 * A process whose address another program holds exits 1 with a line naming the address and the variable
 * that moves it (lib/lifecycle.ts `addressInUse`): a service's gRPC address, the gateway's HTTP port, the
 * proxy's port. Real processes against a real listening socket. The unit tests below the processes pin the
 * message itself, and that no other failure is taken for it.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { defaultConfig } from '../../lib/config';
import { addressInUse } from '../../lib/lifecycle';
import { jsonLine, runToExit, startBroker } from '../helpers/proc';

/** A port some other program listens on, for the length of the test. */
async function heldPort(t: TestContext): Promise<number> {
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  return (server.address() as { port: number }).port;
}

/**
 * Run `entry` with the environment `env` makes of a port another program holds (and the bus of a real broker,
 * with `broker`) to its exit, which must be 1; answer that port and the message of its fatal line.
 */
async function fatalWithPortHeld(
  t: TestContext,
  entry: string,
  env: (port: number) => Record<string, string>,
  broker = true,
): Promise<{ port: number; msg: string }> {
  const bus: Record<string, string> = {};
  if (broker) {
    const started = await startBroker();
    t.after(() => started.stop());
    bus.AGORA_BUS_URL = String(started.endpoints.bus);
  }
  const port = await heldPort(t);
  const exited = await runToExit(entry, { ...bus, ...env(port) });
  const output = exited.stdout + exited.stderr;
  assert.equal(exited.code, 1, output);
  const fatal = exited.stdout
    .split('\n')
    .map(jsonLine)
    .find((line) => line.level === 60);
  assert.ok(fatal !== undefined, output);
  return { port, msg: String(fatal.msg) };
}

test('a service whose gRPC address is taken exits 1 naming it and AGORA_<SERVICE>_GRPC_URL', async (t) => {
  const { port, msg } = await fatalWithPortHeld(t, 'services/auth/main.js', (p) => ({
    AGORA_AUTH_GRPC_URL: `127.0.0.1:${p}`,
  }));
  assert.match(msg, new RegExp(`^127\\.0\\.0\\.1:${port} is already in use by another program`));
  assert.match(msg, /set AGORA_AUTH_GRPC_URL to a free address/);
});

test('AGORA_GRPC_BIND, where it is what was bound, is the variable named', async (t) => {
  const { msg } = await fatalWithPortHeld(t, 'services/channels/main.js', (p) => ({
    AGORA_GRPC_BIND: `127.0.0.1:${p}`,
  }));
  assert.match(msg, /set AGORA_GRPC_BIND to a free address/);
});

test('a gateway whose HTTP port is taken exits 1 naming it and AGORA_HTTP_PORT', async (t) => {
  const { port, msg } = await fatalWithPortHeld(t, 'gateway/main.js', (p) => ({ AGORA_HTTP_PORT: String(p) }));
  assert.match(msg, new RegExp(`^127\\.0\\.0\\.1:${port} is already in use.*set AGORA_HTTP_PORT`));
});

test('a proxy whose port is taken exits 1 naming it and AGORA_PROXY_PORT', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agora-in-use-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'routes.json'), '[]');
  const env = (p: number): Record<string, string> => ({
    AGORA_PROXY_PORT: String(p),
    AGORA_PROXY_ROUTES_FILE: path.join(dir, 'routes.json'),
  });
  const { port, msg } = await fatalWithPortHeld(t, 'services/proxy/main.js', env, false);
  assert.match(msg, new RegExp(`^127\\.0\\.0\\.1:${port} is already in use.*AGORA_PROXY_PORT`));
});

test('addressInUse: Node’s EADDRINUSE and grpc-js’s bind error are recognised, nothing else', () => {
  const node = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:8080'), {
    code: 'EADDRINUSE',
  });
  assert.equal(
    addressInUse(node, '127.0.0.1:8080', 'AGORA_HTTP_PORT'),
    '127.0.0.1:8080 is already in use by another program: stop that program (`ss -ltnp` names it), or set AGORA_HTTP_PORT to a free address',
  );
  const grpc = new Error(
    'No address added out of total 1 resolved errors: [listen EADDRINUSE: address already in use 127.0.0.1:15056]',
  );
  assert.match(String(addressInUse(grpc, '127.0.0.1:15056', 'AGORA_ROUTES_GRPC_URL')), /AGORA_ROUTES_GRPC_URL/);
  for (const other of [
    Object.assign(new Error('listen EACCES: permission denied 0.0.0.0:80'), { code: 'EACCES' }),
    new Error('connect ECONNREFUSED 127.0.0.1:5432'),
    'EADDRNOTAVAIL',
    undefined,
  ])
    assert.equal(addressInUse(other, '127.0.0.1:1', 'X'), undefined, String(other));
});

test('the default ports lie below the ports lent to outgoing connections (32768 and up)', () => {
  const config = defaultConfig();
  const ports = [
    config.httpPort,
    config.proxyPort,
    Number(new URL(config.busUrl).port),
    ...[
      config.authGrpcUrl,
      config.channelsGrpcUrl,
      config.messagesGrpcUrl,
      config.computeGrpcUrl,
      config.driverGrpcUrl,
      config.routesGrpcUrl,
      config.wakeGrpcUrl,
    ].map((address) => Number(address.split(':').pop())),
  ];
  for (const port of ports) assert.ok(port > 0 && port < 32_768, `default port ${port}`);
  assert.equal(new Set(ports).size, ports.length, 'no two defaults share a port');
});
