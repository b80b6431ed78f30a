/**
 * gateway/hooks/access-log.ts: one access line per request, labelled with its id, written by the
 * process's logger with the bytes a request's child logger would write; the child itself made only
 * for a request that logs something more.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { AgoraError } from '../../lib/errors';
import { createLogger, type Logger } from '../../lib/log';
import { buildApp } from '../../gateway/app';

/** The gateway with a bus answering Messages.Post (a refusal for channel `nope`), its raw log lines, its children. */
function gateway(): { app: FastifyInstance; log: Logger; lines: string[]; children: () => number } {
  const lines: string[] = [];
  const log = createLogger('gateway', 'info', { write: (line: string) => void lines.push(line) });
  let children = 0;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with each parent as `this`
  const child = log.child;
  // Children of children inherit `child` from the root: each is made with `this` as its parent.
  log.child = function (this: Logger, bindings, options) {
    children++;
    return child.call(this, bindings, options);
  } as Logger['child'];
  const app = buildApp({
    bus: {
      call: async (_service, _method, params) => {
        if ((params[0] as { channel?: string }).channel === 'nope')
          throw new AgoraError('AGORA_ERR_CHANNEL_NOT_FOUND', ['"nope"']);
        return { messageid: 7, last_modified: 1 };
      },
    },
    log,
    config: { busMaxBodyBytes: 1_048_576, requestTimeoutMs: 3000 },
  });
  return { app, log, lines, children: () => children };
}

const post = (app: FastifyInstance, id: string, channel: string) =>
  app.inject({
    method: 'POST',
    url: '/post?trace=1',
    headers: { 'content-type': 'application/json', 'x-request-id': id },
    payload: JSON.stringify({ sesskey: 1, channel, message: 'hi' }),
  });

/** A line with its time left out, which alone differs between two writes of the same line. */
const timeless = (line: string): string => line.replace(/"time":\d+,/, '');

test('a request that logs nothing else: its access line, as its child would write it, and no child made', async (t) => {
  const { app, log, lines, children } = gateway();
  t.after(() => app.close());
  await app.ready();
  const before = children();
  const res = await post(app, 'acc-1', 'general');
  assert.equal(res.statusCode, 200);
  assert.equal(children(), before, 'no child logger was made for the request');
  const mine = lines.filter((l) => l.includes('"reqId":"acc-1"'));
  assert.equal(mine.length, 1, mine.join(''));
  const line = JSON.parse(mine[0]) as Record<string, unknown>;
  assert.deepEqual(
    { ...line, time: 0 },
    {
      level: 30,
      time: 0,
      pid: process.pid,
      hostname: line.hostname,
      svc: 'gateway',
      reqId: 'acc-1',
      method: 'POST',
      path: '/post',
      route: '/post',
      status: 200,
      ms: line.ms,
      msg: 'request',
    },
  );
  assert.equal(typeof line.ms, 'number');
  // The bytes a child bound to the id writes for the same fields, key for key in the same order.
  const fields = { method: 'POST', path: '/post', route: '/post', status: 200, ms: line.ms };
  log.child({ reqId: 'acc-1' }).info(fields, 'request');
  assert.equal(timeless(mine[0]), timeless(lines[lines.length - 1]));
});

test('a request that logs more: its lines and its access line all come from its one child', async (t) => {
  const { app, lines, children } = gateway();
  t.after(() => app.close());
  await app.ready();
  const before = children();
  const res = await post(app, 'acc-2', 'nope');
  assert.equal(res.statusCode, 200, 'a legacy refusal is a 200 envelope');
  assert.equal((JSON.parse(res.body) as { status: boolean }).status, false);
  assert.equal(children(), before + 1, 'one child, made by the first line the request logged');
  const mine = lines.filter((l) => l.includes('"reqId":"acc-2"')).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    mine.map((l) => l.msg),
    ['request refused', 'request'],
  );
  assert.equal(mine[0].code, 'AGORA_ERR_CHANNEL_NOT_FOUND');
  assert.equal(mine[1].status, 200);
});

test("the request's logger answers its level, and a child of it carries the request's id", async (t) => {
  const { app, lines } = gateway();
  t.after(() => app.close());
  app.get('/probe', async (request) => {
    const level = request.log.level;
    request.log.child({ part: 'probe' }).warn('from a child');
    return { level };
  });
  await app.ready();
  const res = await app.inject({ method: 'GET', url: '/probe', headers: { 'x-request-id': 'acc-3' } });
  assert.deepEqual(JSON.parse(res.body), { level: 'info' });
  const warn = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'from a child');
  assert.deepEqual([warn?.reqId, warn?.part, warn?.level], ['acc-3', 'probe', 40]);
});

test('a request no route answers: its access line has no route, as its child would write it', async (t) => {
  const { app, log, lines } = gateway();
  t.after(() => app.close());
  await app.ready();
  const res = await app.inject({ method: 'GET', url: '/no/such/path?q=1', headers: { 'x-request-id': 'acc-4' } });
  assert.equal(res.statusCode, 404);
  const mine = lines.filter((l) => l.includes('"reqId":"acc-4"') && l.includes('"msg":"request"'));
  assert.equal(mine.length, 1, lines.join(''));
  const line = JSON.parse(mine[0]) as Record<string, unknown>;
  assert.deepEqual([line.path, line.status, 'route' in line], ['/no/such/path', 404, false]);
  log.child({ reqId: 'acc-4' }).info({ method: 'GET', path: '/no/such/path', status: 404, ms: line.ms }, 'request');
  assert.equal(timeless(mine[0]), timeless(lines[lines.length - 1]));
});
