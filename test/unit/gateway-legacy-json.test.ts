/**
 * The legacy messaging API's answers written without Fastify's serializer (gateway/legacy/routes.ts
 * `json`): the same bytes as `JSON.stringify({status: true, data})`, for any text a message may hold, and
 * the general path wherever a reply is not of the plain shape; and `/retrieve`'s answer made from the
 * result's msgpack bytes undecoded (gateway/legacy/retrieve-json.ts), against the decoded result's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { pack, unpack } from '../../lib/bus/codec';
import { createLogger } from '../../lib/log';
import { buildApp, type BusCaller } from '../../gateway/app';
import { retrieveJson } from '../../gateway/legacy/retrieve-json';
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

/** Any UTF-16 unit (lone surrogates too), any code point, and the characters JSON escapes. */
const char = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)),
  fc.constantFrom('"', '\\', '\n', '\b', '\f', '\r', '\t', '\u0000', '\u001f', '\u007f', '\u2028', '😀'),
);
const text = fc.oneof(
  fc.string(),
  fc.array(char, { maxLength: 40 }).map((a) => a.join('')),
  fc.array(char, { minLength: 100, maxLength: 400 }).map((a) => a.join('')),
);
const id = fc.oneof(fc.integer(), fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }));
const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What the route answers from the result decoded: the reference for the bytes made from it undecoded. */
function decodedAnswer(bytes: Uint8Array): string {
  return reference((unpack(bytes) as { messages: Array<Record<string, unknown>> }).messages);
}

test('retrieveJson writes the bytes JSON.stringify writes of the decoded result, for any text and id', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ messageid: id, username: text, message: text, last_modified: id }), { maxLength: 12 }),
      (messages) => {
        const bytes = pack({ messages });
        const answer = retrieveJson(bytes);
        const lone = messages.some((m) => LONE.test(m.username) || LONE.test(m.message));
        if (!lone) assert.ok(answer !== undefined, 'well-formed texts take the short way');
        if (answer !== undefined)
          assert.equal(answer.toString('latin1'), Buffer.from(decodedAnswer(bytes)).toString('latin1'));
      },
    ),
    { numRuns: 1000 },
  );
  for (let c = 0; c < 0x10000; c += 1) {
    const one = {
      messages: [
        { messageid: c, username: String.fromCharCode(c), message: `a${String.fromCharCode(c)}b`, last_modified: 1 },
      ],
    };
    const answer = retrieveJson(pack(one));
    if (answer !== undefined) assert.equal(answer.toString(), decodedAnswer(pack(one)), `U+${c.toString(16)}`);
    else assert.ok(c >= 0xd800 && c <= 0xdfff, `U+${c.toString(16)} takes the short way`);
  }
});

test('retrieveJson answers a result larger than its scratch buffer, and small ones after it', () => {
  const big = {
    messages: Array.from({ length: 100 }, (_, i) => ({
      messageid: i + 1,
      username: 'ann',
      message: '"\\\n'.repeat(1024),
      last_modified: 1,
    })),
  };
  assert.equal(retrieveJson(pack(big))?.toString(), decodedAnswer(pack(big)));
  const small = pack({ messages: [{ messageid: 1, username: 'a', message: 'b', last_modified: 2 }] });
  assert.equal(retrieveJson(small)?.toString(), decodedAnswer(small));
});

test('retrieveJson leaves any other result to the decoding path', () => {
  const m = { messageid: 1, username: 'a', message: 'b', last_modified: 2 };
  const good = pack({ messages: [m] });
  assert.ok(retrieveJson(good) !== undefined);
  for (const odd of [
    pack({ messages: [m], more: 1 }),
    pack({ other: [m] }),
    pack({ messages: [{ username: 'a', messageid: 1, message: 'b', last_modified: 2 }] }),
    pack({ messages: [{ messageid: 1, username: 'a', message: 'b' }] }),
    pack({ messages: [{ ...m, extra: true }] }),
    pack({ messages: [{ ...m, messageid: 1.5 }] }),
    pack({ messages: [{ ...m, messageid: 2 ** 60 }] }),
    pack({ messages: [{ ...m, username: null }] }),
    pack({ messages: [{ ...m, message: Buffer.from('b') }] }),
    pack({ messages: [{ ...m, last_modified: 'x' }] }),
    pack({ messages: 'none' }),
    pack([m]),
    Buffer.concat([good, Buffer.from([0xc0])]),
    good.subarray(0, good.length - 1),
    Buffer.alloc(0),
  ])
    assert.equal(retrieveJson(odd), undefined, odd.toString('hex'));
});

test('/retrieve reads the result from its bytes undecoded and answers as the decoded path would', async (t) => {
  const messages = TEXTS.map((text, i) => ({ messageid: i + 1, username: 'ann', message: text, last_modified: 5 }));
  const asked: boolean[] = [];
  let result: Uint8Array = pack({ messages });
  const bus: BusCaller = {
    call: async (_service, _method, _params, options) => {
      asked.push(options.readResult !== undefined);
      return options.readResult !== undefined ? options.readResult(result) : unpack(result);
    },
  };
  const gateway = buildApp({
    bus,
    log: createLogger('gateway', 'silent'),
    config: { busMaxBodyBytes: 1_048_576, requestTimeoutMs: 3000 },
  });
  t.after(() => gateway.close());
  const res = await gateway.inject({ method: 'POST', url: '/retrieve', payload: RETRIEVE });
  assert.deepEqual(asked, [true]);
  assert.equal(res.body, reference(messages));
  assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(res.headers['content-length'], String(Buffer.byteLength(reference(messages))));
  // Not of the plain shape: decoded, as before.
  const odd = [{ messageid: 1, username: 'ann' }, { message: 'only text' }];
  result = pack({ messages: odd });
  assert.equal((await gateway.inject({ method: 'POST', url: '/retrieve', payload: RETRIEVE })).body, reference(odd));
  // Not msgpack at all: a bad reply, answered as any other.
  result = Buffer.from([0xc1]);
  const bad = await gateway.inject({ method: 'POST', url: '/retrieve', payload: RETRIEVE });
  assert.equal(bad.statusCode, 200);
  assert.equal((JSON.parse(bad.body) as { status: unknown }).status, false);
});
