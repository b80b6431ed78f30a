/**
 * Shapes (lib/rpc/shape.ts) against the protobuf codec they stand in for: for every method of every
 * proto, requests and replies of many kinds, each value the shape answers is deep-equal to the codec
 * round trip's, keys in the same order; values only the codec can judge answer UNSURE.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MethodDefinition } from '@grpc/proto-loader';
import { loadProto } from '../../lib/rpc/proto';
import { registerMessageTypes, shapeOf, UNSURE, type MessageDescriptor } from '../../lib/rpc/shape';

type Method = MethodDefinition<unknown, unknown>;

const FILES = [
  'auth.proto',
  'channels.proto',
  'compute.proto',
  'driver.proto',
  'messages.proto',
  'routes.proto',
] as const;

function methods(): Array<[string, Method]> {
  const out: Array<[string, Method]> = [];
  for (const file of FILES) {
    const pkg = loadProto(file).agora as unknown as Record<string, { service?: Record<string, Method> }>;
    for (const [name, ctor] of Object.entries(pkg)) {
      for (const [m, def] of Object.entries(ctor.service ?? {})) out.push([`${name}.${m}`, def]);
    }
  }
  return out;
}

const SAMPLES: unknown[] = [
  '',
  'hello',
  'é中😀',
  '\uD800',
  '😀\uDFFF',
  '\uDC00😀',
  'a\uD83D',
  0,
  -0,
  1,
  -1,
  7.5,
  2 ** 31,
  2 ** 32,
  -(2 ** 31) - 1,
  2 ** 53,
  Number.MAX_SAFE_INTEGER,
  NaN,
  true,
  false,
  null,
  undefined,
  [],
  ['a', 'b'],
  [1, 2],
  [{ messageid: 3, username: 'u', message: 'm' }, { message: 'x' }],
  {},
  { source: 'a.example', version: 2 },
];

/** A pseudo-random object over a descriptor's fields (plus one unknown field), from a seed. */
function sample(type: MessageDescriptor, seed: number): Record<string, unknown> {
  const out: Record<string, unknown> = { unknown_field: seed };
  let n = seed;
  for (const field of [...(type.field ?? [])].reverse()) {
    n = (n * 1103515245 + 12345) % 2147483648;
    const value = SAMPLES[n % SAMPLES.length];
    if (value !== undefined) out[field.name] = value;
  }
  return out;
}

function roundTrip(serialize: (v: unknown) => Buffer, deserialize: (b: Buffer) => unknown, v: unknown): unknown {
  try {
    return deserialize(serialize(v));
  } catch {
    return UNSURE;
  }
}

test('a shape answers what the codec round trip answers, keys in the same order, or UNSURE', () => {
  let shaped = 0;
  let unsure = 0;
  for (const [name, method] of methods()) {
    if (method.requestStream || method.responseStream) continue;
    const sides = [
      [method.requestType.type, method.requestSerialize, method.requestDeserialize],
      [method.responseType.type, method.responseSerialize, method.responseDeserialize],
    ] as const;
    for (const [type, serialize, deserialize] of sides) {
      const shape = shapeOf(type);
      if (shape === undefined) continue;
      for (let seed = 1; seed <= 300; seed++) {
        const value = seed === 1 ? {} : sample(type, seed);
        const got: unknown = shape(value);
        if (got === UNSURE) {
          unsure++;
          continue;
        }
        shaped++;
        const want = roundTrip(serialize, deserialize, value);
        assert.notEqual(want, UNSURE, `${name}: the codec refused what the shape accepted`);
        assert.deepEqual(got, want, `${name} ${JSON.stringify(value)}`);
        assert.equal(JSON.stringify(got), JSON.stringify(want), `${name}: key order`);
      }
    }
  }
  assert.ok(shaped > 1000, `only ${shaped} values shaped`);
  assert.ok(unsure > 100, `only ${unsure} values left to the codec`);
});

test('the shapes of the hot methods exist (the messages service and sessions never take the codec round trip)', () => {
  const messages = loadProto('messages.proto').agora.Messages.service;
  for (const m of [messages.Post, messages.Retrieve, messages.Last]) {
    assert.notEqual(shapeOf(m.requestType.type), undefined);
    assert.notEqual(shapeOf(m.responseType.type), undefined);
  }
  const list = shapeOf(messages.Retrieve.responseType.type);
  assert.deepEqual(list?.({ messages: [{ messageid: 1, message: 'a', extra: 1 }] }), {
    messages: [{ messageid: 1, username: '', message: 'a', last_modified: 0 }],
  });
  const post = shapeOf(messages.Post.requestType.type);
  assert.equal(post?.({ sesskey: '1' }), UNSURE);
  assert.equal(post?.({ sesskey: -1 }), UNSURE);
});

test('a value already in the codec form is answered itself; any other is copied', () => {
  const messages = loadProto('messages.proto').agora.Messages.service;
  const list = shapeOf(messages.Retrieve.responseType.type);
  const item = { messageid: 1, username: 'u', message: 'm', last_modified: 5 };
  const other = { messageid: 2, username: 'v', message: 'n', last_modified: 6 };
  const shaped = list?.({ messages: [item, other] }) as { messages: unknown[] };
  assert.equal(shaped.messages[0], item, 'a settled message is not copied');
  assert.equal(shaped.messages[1], other);
  const input = [item];
  const again = list?.({ messages: input }) as { messages: unknown[] };
  assert.notEqual(again.messages, input, 'a repeated field is always a new array');
  const post = shapeOf(messages.Post.responseType.type);
  const reply = { messageid: 3, last_modified: 7 };
  assert.equal(post?.(reply), reply);
  const copies: object[] = [
    { username: 'u', messageid: 1, message: 'm', last_modified: 5 },
    { messageid: 1, username: 'u', message: 'm' },
    { messageid: 1, username: 'u', message: 'm', last_modified: 5, extra: 1 },
    { messageid: -0, username: 'u', message: 'm', last_modified: 5 },
    { messageid: 1, username: 'u', message: 'm', last_modified: null },
    Object.assign(Object.create({ inherited: 1 }) as object, {
      messageid: 1,
      username: 'u',
      message: 'm',
      last_modified: 5,
    }),
  ];
  for (const copied of copies) {
    const out = list?.({ messages: [copied] }) as { messages: unknown[] };
    assert.notEqual(out.messages[0], copied, JSON.stringify(copied));
    const want = messages.Retrieve.responseDeserialize(messages.Retrieve.responseSerialize({ messages: [copied] }));
    assert.equal(JSON.stringify(out), JSON.stringify(want), JSON.stringify(copied));
    assert.deepEqual(out, want);
  }
});

test('a shape answers the codec round trip of the codec round trip itself, for every method', () => {
  for (const [name, method] of methods()) {
    if (method.requestStream || method.responseStream) continue;
    const shape = shapeOf(method.responseType.type);
    if (shape === undefined) continue;
    for (let seed = 1; seed <= 100; seed++) {
      const decoded = roundTrip(
        method.responseSerialize,
        method.responseDeserialize,
        sample(method.responseType.type, seed),
      );
      if (decoded === UNSURE) continue;
      const got: unknown = shape(decoded);
      if (got === UNSURE) continue;
      assert.deepEqual(got, decoded, name);
      assert.equal(JSON.stringify(got), JSON.stringify(decoded), `${name}: key order`);
    }
  }
});

test('a message type that contains itself is shaped through its own shape, at any depth', () => {
  const node: MessageDescriptor = {
    name: 'ShapeTestNode',
    field: [
      { name: 'label', number: 1, type: 'TYPE_STRING' },
      { name: 'next', number: 2, type: 'TYPE_MESSAGE', typeName: 'ShapeTestNode' },
    ],
  };
  registerMessageTypes({ 'shape.test.ShapeTestNode': { type: node } });
  const shape = shapeOf(node);
  assert.notEqual(shape, undefined);
  assert.deepEqual(shape?.({ next: { label: 'b', next: { extra: 1 } } }), {
    label: '',
    next: { label: 'b', next: { label: '', next: null } },
  });
  assert.equal(shape?.({ next: { label: 7 } }), UNSURE, 'a wrong value at depth 2');
});

test('a field whose name is not a plain identifier, or is __proto__, leaves the type to the codec', () => {
  for (const name of ['__proto__', 'a-b', '1a', 'x"y']) {
    const type: MessageDescriptor = { name: 'Odd', field: [{ name, number: 1, type: 'TYPE_STRING' }] };
    assert.equal(shapeOf(type), undefined, name);
  }
  const plain: MessageDescriptor = { name: 'Plain', field: [{ name: 'constructor', number: 1, type: 'TYPE_STRING' }] };
  const out = shapeOf(plain)?.({ constructor: 'x', extra: 1 }) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(Object.keys(out), ['constructor']);
  assert.equal(out.constructor, 'x');
});
