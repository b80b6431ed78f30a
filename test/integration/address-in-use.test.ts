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

/** The fatal line among a process's output lines. */
function fatalLine(output: string): Record<string, unknown> | undefined {
  return output
    .split('\n')
    .map(jsonLine)
    .find((line) => line.level === 60);
}

test('a service whose gRPC address is taken exits 1 naming it and AGORA_<SERVICE>_GRPC_URL', async (t) => {
  const broker = await startBroker();
  t.after(() => broker.stop());
  const port = await heldPort(t);
  const exited = await runToExit('services/auth/main.js', {
    AGORA_BUS_URL: String(broker.endpoints.bus),
    AGORA_AUTH_GRPC_URL: `127.0.0.1:${port}`,
  });
  assert.equal(exited.code, 1, exited.stdout + exited.stderr);
  const fatal = fatalLine(exited.stdout);
  assert.ok(fatal !== undefined, exited.stdout);
  assert.match(String(fatal.msg), new RegExp(`^127\\.0\\.0\\.1:${port} is already in use by another program`));
  assert.match(String(fatal.msg), /set AGORA_AUTH_GRPC_URL to a free address/);
});

test('AGORA_GRPC_BIND, where it is what was bound, is the variable named', async (t) => {
  const broker = await startBroker();
  t.after(() => broker.stop());
  const port = await heldPort(t);
  const exited = await runToExit('services/channels/main.js', {
    AGORA_BUS_URL: String(broker.endpoints.bus),
    AGORA_GRPC_BIND: `127.0.0.1:${port}`,
  });
  assert.equal(exited.code, 1, exited.stdout + exited.stderr);
  assert.match(String(fatalLine(exited.stdout)?.msg), /set AGORA_GRPC_BIND to a free address/);
});

test('a gateway whose HTTP port is taken exits 1 naming it and AGORA_HTTP_PORT', async (t) => {
  const broker = await startBroker();
  t.after(() => broker.stop());
  const port = await heldPort(t);
  const exited = await runToExit('gateway/main.js', {
    AGORA_BUS_URL: String(broker.endpoints.bus),
    AGORA_HTTP_PORT: String(port),
  });
  assert.equal(exited.code, 1, exited.stdout + exited.stderr);
  const fatal = fatalLine(exited.stdout);
  assert.ok(fatal !== undefined, exited.stdout + exited.stderr);
  assert.match(String(fatal.msg), new RegExp(`^127\\.0\\.0\\.1:${port} is already in use.*set AGORA_HTTP_PORT`));
});

test('a proxy whose port is taken exits 1 naming it and AGORA_PROXY_PORT', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agora-in-use-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'routes.json'), '[]');
  const port = await heldPort(t);
  const exited = await runToExit('services/proxy/main.js', {
    AGORA_PROXY_PORT: String(port),
    AGORA_PROXY_ROUTES_FILE: path.join(dir, 'routes.json'),
  });
  assert.equal(exited.code, 1, exited.stdout + exited.stderr);
  assert.match(
    String(fatalLine(exited.stdout)?.msg),
    new RegExp(`^127\\.0\\.0\\.1:${port} is already in use.*AGORA_PROXY_PORT`),
  );
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
