/**
 * The legacy messaging API's answers written without Fastify's serializer (gateway/legacy/routes.ts
 * `json`): the same bytes as `JSON.stringify({status: true, data})`, for any text a message may hold, and
 * the general path wherever a reply is not of the plain shape.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createLogger } from '../../lib/log';
import { buildApp, type BusCaller } from '../../gateway/app';
import { messagesAnswer } from '../../gateway/legacy/routes';

/** Texts that JSON.stringify escapes, or not: controls, quotes, backslashes, surrogates (paired and lone), … */
const TEXTS = [
  '',
  'hello, bench',
  'yo "x"',
  'back\\slash',
  'tab\tnew\nline\r',
  '\u0000\u0001\u001f\u007f',
  'é ü ß 中文',
  '\u2028\u2029',
  '😀 paired',
  'lone \ud800 high',
  'lone \udfff low',
  '\udfff\ud800',
  '</script>',
  `${'long '.repeat(500)}"end"`,
];

/** What the route answered before: `{status: true, data}` with each message's three fields, in that order. */
function reference(messages: Array<Record<string, unknown>>): string {
  const data = messages.map((m) => ({ messageid: m.messageid, username: m.username, message: m.message }));
  return JSON.stringify({ status: true, data });
}

test('messagesAnswer writes what JSON.stringify writes, for every text and id', () => {
  const messages = TEXTS.map((text, i) => ({
    last_modified: 1_700_000_000_000 + i,
    message: text,
    username: TEXTS[TEXTS.length - 1 - i],
    messageid: [1, 0, -0, 2 ** 53 - 1, -(2 ** 53 - 1), 1e21, 0.5][i % 7],
  }));
  assert.equal(messagesAnswer(messages), reference(messages));
  assert.equal(messagesAnswer([]), '{"status":true,"data":[]}');
  for (let c = 0; c < 0x10000; c += 1) {
    const text = `a${String.fromCharCode(c)}b`;
    const one = [{ messageid: c, username: text, message: text }];
    assert.equal(messagesAnswer(one), reference(one), `U+${c.toString(16)}`);
  }
});

test('messagesAnswer leaves any other shape to the general path', () => {
  for (const odd of [
    'not an array',
    [null],
    [7],
    [{ messageid: '1', username: 'a', message: 'b' }],
    [{ messageid: Number.NaN, username: 'a', message: 'b' }],
    [{ messageid: Infinity, username: 'a', message: 'b' }],
    [{ messageid: 1, message: 'b' }],
    [{ messageid: 1, username: 'a', message: null }],
  ])
    assert.equal(messagesAnswer(odd), undefined, JSON.stringify(odd));
});

function app(retrieve: () => unknown): FastifyInstance {
  const bus: BusCaller = {
    call: async (service, method) => {
      if (`${service}.${method}` === 'Messages.Retrieve') return retrieve();
      if (`${service}.${method}` === 'Messages.Post') return { messageid: 1 };
      throw new Error(`unexpected ${service}.${method}`);
    },
  };
  return buildApp({
    bus,
    log: createLogger('gateway', 'silent'),
    config: { busMaxBodyBytes: 1_048_576, requestTimeoutMs: 3000 },
  });
}

const RETRIEVE = JSON.stringify({ sesskey: 1, channel: 'c', first: 1, last: 9 });

test('/retrieve and /post answer the same bytes and Content-Type as a serialized object', async (t) => {
  const messages = TEXTS.map((text, i) => ({ messageid: i + 1, username: 'ann', message: text, last_modified: 5 }));
  const gateway = app(() => ({ messages }));
  t.after(() => gateway.close());
  const res = await gateway.inject({ method: 'POST', url: '/retrieve', payload: RETRIEVE });
  assert.equal(res.statusCode, 200);
  assert.equal(res.body, reference(messages));
  assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(res.headers['content-length'], String(Buffer.byteLength(reference(messages))));
  const posted = await gateway.inject({
    method: 'POST',
    url: '/post',
    payload: JSON.stringify({ sesskey: 1, channel: 'c', message: 'm' }),
  });
  assert.equal(posted.body, '{"status":true,"data":true}');
  assert.equal(posted.headers['content-type'], 'application/json; charset=utf-8');
});

test('/retrieve of messages not of the plain shape answers as before', async (t) => {
  const odd = [
    { messageid: 1, username: 'ann' },
    { messageid: Number.NaN, username: 'bob', message: 'x' },
    { message: 'only text' },
  ];
  const gateway = app(() => ({ messages: odd }));
  t.after(() => gateway.close());
  const res = await gateway.inject({ method: 'POST', url: '/retrieve', payload: RETRIEVE });
  assert.equal(res.body, reference(odd));
  assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
});
