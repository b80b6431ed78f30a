/**
 * lib/log.ts: what every line of every process carries, and that secrets never reach one
 * (CONTRIBUTING.md "Logging": passwords, session keys and `Authorization` are redacted).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import pino from 'pino';
import { createLogger, infoLineWriter, jsonText, LineBatch, type Logger } from '../../lib/log';

/** A logger whose lines are collected, parsed, in `lines`. */
function capture(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger('test', 'info', {
    write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  return { log, lines };
}

test('a line carries level, time, pid, hostname, svc, the bindings, the fields and msg, in that order', () => {
  const { log, lines } = capture();
  log.child({ reqId: 'r-1' }).info({ method: 'POST', path: '/post', route: '/post', status: 200, ms: 1.5 }, 'request');
  assert.equal(lines.length, 1);
  const line = lines[0];
  assert.deepEqual(Object.keys(line), [
    'level',
    'time',
    'pid',
    'hostname',
    'svc',
    'reqId',
    'method',
    'path',
    'route',
    'status',
    'ms',
    'msg',
  ]);
  assert.equal(line.level, 30);
  assert.equal(typeof line.time, 'number');
  assert.equal(line.pid, process.pid);
  assert.deepEqual(
    { svc: line.svc, reqId: line.reqId, status: line.status, ms: line.ms, msg: line.msg },
    { svc: 'test', reqId: 'r-1', status: 200, ms: 1.5, msg: 'request' },
  );
});

test('passwords, session keys and sessions are redacted as fields and one level down', () => {
  const { log, lines } = capture();
  const body = { username: 'ann', password: 'hunter2', sesskey: 123, session: 'abc' };
  log.info({ password: 'p', sesskey: 42, session: { id: 1 }, body, list: [1, 2], note: 'kept' }, 'logon');
  const line = lines[0];
  assert.equal(line.password, '[redacted]');
  assert.equal(line.sesskey, '[redacted]');
  assert.equal(line.session, '[redacted]');
  assert.deepEqual(line.body, {
    username: 'ann',
    password: '[redacted]',
    sesskey: '[redacted]',
    session: '[redacted]',
  });
  assert.deepEqual(line.list, [1, 2]);
  assert.equal(line.note, 'kept');
  // The object logged is left as it was.
  assert.deepEqual(body, { username: 'ann', password: 'hunter2', sesskey: 123, session: 'abc' });
  assert.ok(!JSON.stringify(lines).includes('hunter2'));
});

test('an error holding a session is logged whole, its session redacted, the error left as it was', () => {
  const { log, lines } = capture();
  const err = Object.assign(new Error('boom'), { session: 'secret-session', code: 'E_X' });
  log.error({ err }, 'failed');
  const logged = lines[0].err as Record<string, unknown>;
  assert.equal(logged.type, 'Error');
  assert.equal(logged.message, 'boom');
  assert.equal(logged.code, 'E_X');
  assert.match(String(logged.stack), /boom/);
  assert.equal(logged.session, '[redacted]');
  assert.equal(err.session, 'secret-session');
});

test("a child's bindings are redacted too, and the Authorization header of a logged request", () => {
  const { log, lines } = capture();
  log
    .child({ reqId: 'r-2', user: { name: 'ann', password: 'pw' } })
    .info({ req: { method: 'GET', headers: { authorization: 'Bearer 123', host: 'example' } } }, 'seen');
  const line = lines[0];
  assert.equal(line.reqId, 'r-2');
  assert.deepEqual(line.user, { name: 'ann', password: '[redacted]' });
  assert.deepEqual(line.req, { method: 'GET', headers: { authorization: '[redacted]', host: 'example' } });
});

/** What a node process running `body` (with `log`, a logger on stdout, and `afterLogsWritten` in scope) prints. */
function stdoutOf(body: string): string {
  const module = JSON.stringify(path.join(__dirname, '..', '..', 'lib', 'log.js'));
  const script = `const { createLogger, afterLogsWritten } = require(${module}); const log = createLogger('t', 'info'); ${body}`;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.error, undefined);
  return run.stdout;
}

const ids = (out: string): unknown[] =>
  out
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { i: unknown }).i);

test('stdout gets every line in order, bursts and lulls, before an exit that waits for them', () => {
  const out = stdoutOf(`
    for (let i = 0; i < 2000; i++) log.info({ i }, 'line');
    setTimeout(() => {
      for (let i = 2000; i < 3000; i++) log.info({ i }, 'line');
      afterLogsWritten(log, () => process.exit(0));
    }, 20);`);
  assert.deepEqual(
    ids(out),
    Array.from({ length: 3000 }, (_, i) => i),
  );
});

test('a line that waits for its turn is written without any line after it, nor an exit', () => {
  const out = stdoutOf(`
    log.info({ i: 1 }, 'line');
    log.info({ i: 2 }, 'line');
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), 300);`);
  assert.deepEqual(ids(out), [1, 2]);
});

test('a line written from JSON text has the bytes of the same line logged from an object', () => {
  const lines: string[] = [];
  const log = createLogger('test', 'info', { write: (line: string) => void lines.push(line) });
  const writer = (msg: string): ((fields: string) => void) => {
    const write = infoLineWriter(log, ['path', 'status'], msg);
    assert.ok(write !== undefined, 'a logger of createLogger has a line writer');
    return write;
  };
  const timeless = (line: string | undefined): string | undefined => line?.replace(/"time":\d+,/, '');
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 130 }), fc.integer(), (text, status) => {
      lines.length = 0;
      log.info({ path: text, status }, text);
      writer(text)(`,"path":${jsonText(text)},"status":${status}`);
      assert.equal(lines.length, 2);
      assert.equal(timeless(lines[1]), timeless(lines[0]));
    }),
    { numRuns: 2000 },
  );
  for (const text of ['a"b', 'back\\slash', 'tab\there', 'x'.repeat(101), 'é ☃ 😀', '']) {
    lines.length = 0;
    log.info({ path: text, status: 1 }, 'm');
    writer('m')(`,"path":${jsonText(text)},"status":1`);
    assert.equal(timeless(lines[1]), timeless(lines[0]), text);
    assert.equal((JSON.parse(lines[1]) as { path: string }).path, text);
  }
});

test('a line writer keeps to the level, and is not given where the logger would change the line', () => {
  const lines: string[] = [];
  const log = createLogger('test', 'warn', { write: (line: string) => void lines.push(line) });
  const write = infoLineWriter(log, ['path'], 'm');
  write?.(',"path":"/x"');
  assert.deepEqual(lines, [], 'info is below warn');
  log.level = 'info';
  write?.(',"path":"/x"');
  assert.equal(lines.length, 1);
  const mixed = pino({ mixin: () => ({ extra: 1 }) }, { write: () => undefined });
  assert.equal(infoLineWriter(mixed, ['path'], 'm'), undefined, 'a mixin adds fields');
  const serialized = pino({ serializers: { path: () => 'x' } }, { write: () => undefined });
  assert.equal(infoLineWriter(serialized, ['path'], 'm'), undefined, 'a serializer of one of its keys');
  const redacted = pino({ redact: ['path'] }, { write: () => undefined });
  assert.equal(infoLineWriter(redacted, ['path'], 'm'), undefined, 'a redaction of one of its keys');
  assert.notEqual(infoLineWriter(redacted, ['status'], 'm'), undefined, 'a redaction of another key');
});

test("a batch of lines takes the UTF-8 bytes of all its lines in order, each batch's bytes its own", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.array(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 3000 })), {
          maxLength: 40,
        }),
        {
          maxLength: 6,
        },
      ),
      (batches) => {
        const batch = new LineBatch();
        const taken: Array<[Buffer | undefined, string[]]> = [];
        for (const lines of batches) {
          for (const line of lines) batch.add(line);
          taken.push([batch.take(), lines]);
        }
        // Compared only once all are taken: a later batch must not have written over an earlier one's bytes.
        for (const [bytes, lines] of taken) {
          const want = lines.join('');
          if (lines.length === 0) assert.equal(bytes, undefined);
          else assert.deepEqual(bytes, Buffer.from(want));
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('a batch of lines takes a line longer than any buffer it had, and lone surrogates as Buffer.from writes them', () => {
  const batch = new LineBatch();
  const long = `${'é'.repeat(200_000)}\n`;
  batch.add('a\n');
  batch.add(long);
  batch.add('\uD800 \uDC00 😀\n');
  assert.deepEqual(batch.take(), Buffer.from(`a\n${long}\uD800 \uDC00 😀\n`));
  assert.equal(batch.take(), undefined);
});
