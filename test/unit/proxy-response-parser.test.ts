/**
 * services/proxy/response-parser.ts: heads, the three framings, hop-by-hop fields, and
 * malformed responses; every response is also fed one byte at a time, which must not change
 * what comes out.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_HEAD_BYTES, ResponseParser, type ResponseHead } from '../../services/proxy/response-parser';

interface Seen {
  heads: ResponseHead[];
  body: string;
  ends: boolean[];
  fails: string[];
}

/** Feed `chunks` to a parser expecting one response; `noBody` as for HEAD. */
function parse(chunks: readonly (string | Buffer)[], options: { noBody?: boolean; eof?: boolean } = {}): Seen {
  const seen: Seen = { heads: [], body: '', ends: [], fails: [] };
  const parser = new ResponseParser({
    onHead: (head) => seen.heads.push(head),
    onBody: (chunk) => (seen.body += chunk.toString('latin1')),
    onEnd: (reusable, last) => {
      if (last !== undefined) seen.body += last.toString('latin1');
      seen.ends.push(reusable);
    },
    onFail: (reason) => seen.fails.push(reason),
  });
  parser.begin(options.noBody ?? false);
  for (const c of chunks) parser.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c);
  if (options.eof === true) parser.eof();
  return seen;
}

/** The same response whole and byte by byte: both must give `expected`'s body and ends. */
function both(raw: string, options: { noBody?: boolean; eof?: boolean } = {}): Seen {
  const whole = parse([raw], options);
  const bytes = parse([...raw], options);
  assert.deepEqual(bytes, whole, 'fed byte by byte, the parser saw something else');
  return whole;
}

test('Content-Length: head fields in order, body, reusable; hop-by-hop fields removed', () => {
  const seen = both(
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: keep-alive\r\n' +
      'Keep-Alive: timeout=5\r\nX-A: 1\r\n\r\nhello',
  );
  assert.equal(seen.heads.length, 1);
  const head = seen.heads[0];
  assert.equal(head.status, 200);
  assert.equal(head.reason, 'OK');
  assert.deepEqual(head.headers, ['Content-Type', 'text/plain', 'Content-Length', '5', 'X-A', '1']);
  assert.equal(head.keepAlive, true);
  assert.equal(head.keepAliveMs, 5000);
  assert.equal(head.requestId, false);
  assert.equal(seen.body, 'hello');
  assert.deepEqual(seen.ends, [true]);
  assert.deepEqual(seen.fails, []);
});

test('chunked: the coding removed, extensions and trailers dropped, Content-Length ignored', () => {
  const seen = both(
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Request-Id: r1\r\n\r\n' +
      '5;ext=1\r\nhello\r\n1A\r\n' +
      'abcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: t\r\n\r\n',
  );
  assert.deepEqual(seen.heads[0].headers, ['X-Request-Id', 'r1']);
  assert.equal(seen.heads[0].requestId, true);
  assert.equal(seen.body, 'helloabcdefghijklmnopqrstuvwxyz');
  assert.deepEqual(seen.ends, [true]);
});

test('Transfer-Encoding with Content-Length: chunked wins, the connection is not reused', () => {
  const seen = both('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n');
  assert.deepEqual(seen.heads[0].headers, []);
  assert.equal(seen.body, 'ok');
  assert.deepEqual(seen.ends, [false]);
});

test('no framing: the body lasts until the connection closes', () => {
  const seen = both('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end', { eof: true });
  assert.equal(seen.body, 'until the end');
  assert.deepEqual(seen.ends, [false]);
});

test('HEAD, 204 and 304 have no body whatever their fields say', () => {
  assert.deepEqual(both('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n', { noBody: true }).ends, [true]);
  assert.deepEqual(both('HTTP/1.1 204 No Content\r\n\r\n').ends, [true]);
  const notModified = both('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n');
  assert.deepEqual(notModified.ends, [true]);
  assert.deepEqual(notModified.heads[0].headers, ['Content-Length', '10']);
});

test('interim 1xx responses are skipped; the final one is delivered', () => {
  const seen = both(
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok',
  );
  assert.equal(seen.heads.length, 1);
  assert.equal(seen.heads[0].status, 201);
  assert.equal(seen.body, 'ok');
});

test('HTTP/1.0 keeps the connection only when asked; Connection: close ends reuse; named fields go', () => {
  assert.equal(both('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').heads[0].keepAlive, false);
  assert.equal(both('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n').heads[0].keepAlive, true);
  const closing = both(
    'HTTP/1.1 200 OK\r\nConnection: close, X-Private\r\nX-Private: 1\r\nX-Public: 2\r\nContent-Length: 0\r\n\r\n',
  );
  assert.equal(closing.heads[0].keepAlive, false);
  assert.deepEqual(closing.heads[0].headers, ['X-Public', '2', 'Content-Length', '0']);
  assert.deepEqual(closing.ends, [false]);
});

test('an empty reason phrase, with or without its space', () => {
  assert.equal(both('HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n').heads[0].reason, '');
  assert.equal(both('HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n').heads[0].status, 404);
});

test('bytes after a complete response make the connection unusable', () => {
  const seen = parse(['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA']);
  assert.equal(seen.body, 'ok');
  assert.deepEqual(seen.ends, [false]);
});

test('malformed responses fail, never reach onHead', () => {
  const bad = [
    'HTTP/2 200 OK\r\n\r\n',
    'HTTP/1.1 2000 OK\r\n\r\n',
    'HTTP/1.1 20 OK\r\n\r\n',
    'ICY 200 OK\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx',
    'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length : 3\r\n\r\nabc',
    'HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n',
    'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n',
    'HTTP/1.1 101 Switching Protocols\r\n\r\n',
  ];
  for (const raw of bad) {
    const seen = parse([raw]);
    assert.deepEqual(seen.heads, [], raw);
    assert.equal(seen.fails.length, 1, raw);
  }
});

test('malformed chunked bodies fail after the head', () => {
  for (const body of ['zz\r\n', '5\r\nhelloXX\r\n', '5\nhello\r\n']) {
    const seen = parse([`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${body}`]);
    assert.equal(seen.heads.length, 1, body);
    assert.equal(seen.fails.length, 1, body);
    assert.deepEqual(seen.ends, [], body);
  }
});

test('a head over the limit fails, however it arrives', () => {
  const big = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`;
  assert.equal(parse([big]).fails.length, 1);
  const pieces = [];
  for (let i = 0; i < big.length; i += 1000) pieces.push(big.slice(i, i + 1000));
  const seen = parse(pieces);
  assert.equal(seen.fails.length, 1);
  assert.deepEqual(seen.heads, []);
});

test('the connection ending early fails the response, before or in its body', () => {
  assert.equal(parse(['HTTP/1.1 200 OK\r\n'], { eof: true }).fails.length, 1);
  const cut = parse(['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'], { eof: true });
  assert.equal(cut.body, 'abc');
  assert.equal(cut.fails.length, 1);
});

test('one parser reads consecutive responses on a kept connection', () => {
  const seen: string[] = [];
  const parser = new ResponseParser({
    onHead: (head) => seen.push(`head ${head.status}`),
    onBody: (chunk) => seen.push(`body ${chunk.toString()}`),
    onEnd: (reusable, last) => seen.push(`end ${reusable} ${last?.toString() ?? ''}`),
    onFail: (reason) => seen.push(`fail ${reason}`),
  });
  parser.begin(false);
  parser.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na'));
  assert.equal(parser.busy, false);
  parser.begin(false);
  parser.push(Buffer.from('HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nb'));
  parser.push(Buffer.from('c'));
  assert.deepEqual(seen, ['head 200', 'end true a', 'head 404', 'body b', 'end true c']);
});
