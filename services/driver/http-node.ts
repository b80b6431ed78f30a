/**
 * Image `http` of the TypeScript driver (docs/COMPUTE.md "Images and sizes"): a small HTTP
 * server answering every GET with the node's id and name. It is a node, not an Agora
 * service: it reads only the environment the driver gives a node and writes plain lines,
 * which the driver keeps as the node's output.
 */
import http from 'node:http';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT);
const body = JSON.stringify({
  id: process.env.NODE_ID ?? '',
  name: process.env.NODE_NAME ?? '',
  image: 'http',
  size: process.env.NODE_SIZE ?? '',
});

if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write(`http-node: PORT must be a TCP port, got ${JSON.stringify(process.env.PORT)}\n`);
  process.exit(78);
}

const server = http.createServer((request, response) => {
  process.stdout.write(`${request.method} ${request.url}\n`);
  response.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
  response.end(request.method === 'HEAD' ? undefined : body);
});

server.listen(port, host, () => process.stdout.write(`listening on http://${host}:${port}\n`));

process.once('SIGTERM', () => {
  process.stdout.write('SIGTERM: closing\n');
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
