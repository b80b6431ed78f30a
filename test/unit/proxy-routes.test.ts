/** services/proxy/routes.ts: host matching, the table's writes, shared node state, and entry checks. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAgoraError } from '../../lib/errors';
import { nodeHost } from '../../lib/hosts';
import { checkEntry, normalizeHost, parseTargetUrl, RouteTable } from '../../services/proxy/routes';

const DEFAULTS = { connectTimeoutMs: 5000, readTimeoutMs: 60_000 };

function nodeRoute(source: string, id: string, status = 'ACTIVE', port = 4000): unknown {
  return { source, target: { node: { id, status, host: '127.0.0.1', port } } };
}

test('normalizeHost: lower case, no port, no final dot; IPv6 literals keep their brackets', () => {
  assert.equal(normalizeHost('Web.Ann.Nodes.Localhost:8000'), 'web.ann.nodes.localhost');
  assert.equal(normalizeHost('example.com.'), 'example.com');
  assert.equal(normalizeHost('[::1]:8000'), '[::1]');
  assert.equal(normalizeHost(nodeHost('web', 'ann', 'nodes.localhost')!), 'web.ann.nodes.localhost');
});

test('lookup by Host, whatever its case and port; unknown hosts and no Host find nothing', () => {
  const table = new RouteTable(DEFAULTS);
  table.replaceAll([nodeRoute('web.ann.nodes.localhost', 'n1')]);
  assert.equal(table.lookup('WEB.ann.nodes.localhost:8000')?.source, 'web.ann.nodes.localhost');
  assert.equal(table.lookup('other.ann.nodes.localhost'), undefined);
  assert.equal(table.lookup(undefined), undefined);
});

test('defaults fill mode, enforce_https and timeouts; a route may set its own', () => {
  const table = new RouteTable(DEFAULTS);
  const plain = table.upsert(nodeRoute('a.example', 'n1'));
  assert.deepEqual(
    [plain.mode, plain.enforceHttps, plain.connectTimeoutMs, plain.readTimeoutMs],
    ['proxy', false, 5000, 60_000],
  );
  const own = table.upsert({
    source: 'b.example',
    target: { url: 'http://127.0.0.1:9000/app/' },
    mode: 'redirect',
    enforce_https: true,
    connect_timeout_ms: 100,
    read_timeout_ms: 200,
  });
  assert.deepEqual([own.mode, own.enforceHttps, own.connectTimeoutMs, own.readTimeoutMs], ['redirect', true, 100, 200]);
  assert.deepEqual(own.url, {
    host: '127.0.0.1',
    port: 9000,
    authority: '127.0.0.1:9000',
    prefix: '/app',
    base: 'http://127.0.0.1:9000/app',
  });
});

test('upsert replaces, delete removes, replaceAll starts afresh', () => {
  const table = new RouteTable(DEFAULTS);
  table.upsert(nodeRoute('a.example', 'n1', 'ACTIVE', 4000));
  table.upsert(nodeRoute('a.example', 'n2', 'ACTIVE', 5000));
  assert.equal(table.size, 1);
  assert.equal(table.lookup('a.example')?.node?.port, 5000);
  assert.equal(table.node('n1'), undefined, 'no route leads to n1 any more');
  assert.equal(table.delete('A.example'), true);
  assert.equal(table.delete('a.example'), false);
  table.upsert(nodeRoute('b.example', 'n3'));
  table.replaceAll([nodeRoute('c.example', 'n4'), nodeRoute('c.example', 'n5')]);
  assert.deepEqual(
    table.entries().map((e) => e.source),
    ['c.example'],
  );
  assert.equal(table.node('n4'), undefined, 'the last of two entries for one source stands');
  assert.equal(table.lookup('c.example')?.node?.id, 'n5');
});

test('routes to one node share its state: setNode moves every one of them', () => {
  const table = new RouteTable(DEFAULTS);
  table.replaceAll([
    nodeRoute('web.ann.nodes.localhost', 'n1', 'STOPPED', 0),
    nodeRoute('www.example', 'n1', 'STOPPED', 0),
  ]);
  assert.equal(table.setNode('n1', { status: 'ACTIVE', host: '127.0.0.1', port: 4321 }), true);
  for (const host of ['web.ann.nodes.localhost', 'www.example']) {
    const node = table.lookup(host)?.node;
    assert.deepEqual([node?.status, node?.port], ['ACTIVE', 4321], host);
  }
  assert.equal(table.setNode('nobody', { status: 'ACTIVE' }), false);
  assert.deepEqual(table.entries()[1].target, { node: { id: 'n1', status: 'ACTIVE', host: '127.0.0.1', port: 4321 } });
});

test('a bad entry is refused with AGORA_ERR_PROXY_INVALID_ROUTE, and a bad replaceAll changes nothing', () => {
  const bad: unknown[] = [
    null,
    { source: 'has space', target: { url: 'http://a' } },
    { source: 'a.example', target: {} },
    { source: 'a.example', target: { url: 'http://a', node: { id: 'n1', status: 'ACTIVE' } } },
    { source: 'a.example', target: { url: 'https://a.example' } },
    { source: 'a.example', target: { url: 'http://user:pw@a.example' } },
    { source: 'a.example', target: { url: 'http://a.example/?q=1' } },
    { source: 'a.example', target: { node: { id: 'N1!', status: 'ACTIVE', host: 'h', port: 1 } } },
    { source: 'a.example', target: { node: { id: 'n1', status: 'RUNNING', host: 'h', port: 1 } } },
    { source: 'a.example', target: { node: { id: 'n1', status: 'ACTIVE' } } },
    { source: 'a.example', target: { node: { id: 'n1', status: 'ACTIVE', host: 'h', port: 70000 } } },
    { source: 'a.example', target: { url: 'http://a' }, mode: 'tunnel' },
    { source: 'a.example', target: { url: 'http://a' }, enforce_https: 'yes' },
    { source: 'a.example', target: { url: 'http://a' }, read_timeout_ms: 0 },
    { source: 'a.example', target: { url: 'http://a' }, connect_timeout_ms: 1.5 },
  ];
  for (const entry of bad) {
    assert.throws(
      () => checkEntry(entry),
      (e: unknown) => isAgoraError(e) && e.code === 'AGORA_ERR_PROXY_INVALID_ROUTE' && e.status === 400,
      JSON.stringify(entry),
    );
  }
  const table = new RouteTable(DEFAULTS);
  table.upsert(nodeRoute('keep.example', 'n1'));
  assert.throws(() => table.replaceAll([nodeRoute('new.example', 'n2'), bad[1]]));
  assert.deepEqual(
    table.entries().map((e) => e.source),
    ['keep.example'],
  );
});

test('STOPPED nodes need no address; a URL target defaults to port 80 and no prefix', () => {
  assert.deepEqual(checkEntry({ source: 'a.example', target: { node: { id: 'n1', status: 'STOPPED' } } }).target, {
    node: { id: 'n1', status: 'STOPPED', host: '', port: 0 },
  });
  assert.deepEqual(parseTargetUrl('http://backend.example'), {
    host: 'backend.example',
    port: 80,
    authority: 'backend.example',
    prefix: '',
    base: 'http://backend.example',
  });
});
