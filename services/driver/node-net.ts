/**
 * The network side of the TypeScript driver's nodes: the loopback port a node is given, and
 * the probe of its health check (docs/COMPUTE.md "Images and sizes": `http` answers `GET /`
 * with 200, `command` accepts a TCP connection).
 */
import { once } from 'node:events';
import http from 'node:http';
import { connect, createServer } from 'node:net';

/** Where nodes listen. */
export const NODE_HOST = '127.0.0.1';

/** A loopback port that was free a moment ago (the node binds it itself). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, NODE_HOST);
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** One health probe: `GET /` answers 200 (http), or a TCP connection is accepted (tcp). */
export function probe(check: 'http' | 'tcp', port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (check === 'tcp') {
      const socket = connect({ host: NODE_HOST, port, timeout: timeoutMs });
      const done = (ok: boolean): void => {
        socket.destroy();
        resolve(ok);
      };
      socket
        .once('connect', () => done(true))
        .once('error', () => done(false))
        .once('timeout', () => done(false));
      return;
    }
    const request = http.get({ host: NODE_HOST, port, path: '/', timeout: timeoutMs, agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.once('error', () => resolve(false)).once('timeout', () => request.destroy());
  });
}
