/**
 * lib/errors.ts: the registry's shape, AgoraError, message templates, and the bus rendering
 * (toWire / fromWire) including what a worker in another language may send.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AgoraError,
  ERRORS,
  GRPC,
  errorMessage,
  formatMessage,
  fromWire,
  isAgoraError,
  isErrorCode,
  toWire,
  type ErrorCode,
} from '../../lib/errors';

test('the registry: AGORA_ERR_ names, HTTP error statuses, known gRPC statuses, templates', () => {
  const grpcValues = new Set<number>(Object.values(GRPC));
  for (const [code, spec] of Object.entries(ERRORS)) {
    assert.match(code, /^AGORA_ERR_[A-Z]+(_[A-Z]+)*$/, code);
    assert.ok(spec.status >= 400 && spec.status <= 599, `${code} status ${spec.status}`);
    assert.ok(Number.isInteger(spec.errno) && spec.errno >= 100, `${code} errno ${spec.errno}`);
    assert.ok(grpcValues.has(spec.grpc) && spec.grpc > 0, `${code} grpc ${spec.grpc}`);
    assert.ok(spec.message.length > 0);
  }
  // The codes the protocol names for workers in other languages exist.
  for (const code of [
    'AGORA_ERR_RPC_NO_METHOD',
    'AGORA_ERR_RPC_BAD_PARAMS',
    'AGORA_ERR_INTERNAL',
    'AGORA_ERR_BUS_NO_SERVICE',
    'AGORA_ERR_BUS_QUEUE_FULL',
    'AGORA_ERR_BUS_TOO_LARGE',
    'AGORA_ERR_BUS_WORKER_LOST',
    'AGORA_ERR_BUS_BAD_MESSAGE',
  ]) {
    assert.ok(isErrorCode(code), code);
  }
  assert.deepEqual(ERRORS.AGORA_ERR_INTERNAL, {
    status: 500,
    errno: 999,
    grpc: GRPC.INTERNAL,
    message: 'Internal error',
  });
});

test('formatMessage fills each %s in order, keeps missing ones, ignores extra arguments', () => {
  assert.equal(
    formatMessage('Call to %s.%s passed its deadline', ['echo', 'sleep']),
    'Call to echo.sleep passed its deadline',
  );
  assert.equal(formatMessage('%s and %s', ['one']), 'one and %s');
  assert.equal(formatMessage('no placeholder', ['x']), 'no placeholder');
  assert.equal(formatMessage('%s', [42]), '42');
  assert.equal(formatMessage('%s|%s|%s', [null, undefined, { a: 1 }]), 'null|undefined|[object Object]');
  // Arguments are inserted literally: no `$&` replacement patterns, no re-expansion of %s.
  assert.equal(formatMessage('[%s] [%s]', ['$&', '%s']), '[$&] [%s]');
});

test('AgoraError carries the registry numbers of its code', () => {
  const cause = new Error('socket closed');
  const e = new AgoraError('AGORA_ERR_BUS_QUEUE_FULL', ['echo'], { cause, data: { queued: 3 } });
  assert.ok(e instanceof Error);
  assert.ok(e instanceof AgoraError);
  assert.ok(isAgoraError(e));
  assert.equal(e.name, 'AgoraError');
  assert.equal(e.code, 'AGORA_ERR_BUS_QUEUE_FULL');
  assert.equal(e.message, 'Too many requests waiting for echo');
  assert.equal(e.status, 503);
  assert.equal(e.errno, 201);
  assert.equal(e.grpc, GRPC.RESOURCE_EXHAUSTED);
  assert.deepEqual(e.data, { queued: 3 });
  assert.equal(e.cause, cause);
  assert.match(String(e.stack), /^AgoraError: Too many requests waiting for echo\n/);

  const plain = new AgoraError('AGORA_ERR_INTERNAL');
  assert.equal(plain.message, 'Internal error');
  assert.equal(plain.data, undefined);
  assert.equal(plain.cause, undefined);
  assert.equal(new AgoraError('AGORA_ERR_BUS_TIMEOUT', ['a', 'b'], { message: 'custom' }).message, 'custom');
});

test('toWire: an AgoraError travels as {code, message, data?}; anything else as AGORA_ERR_INTERNAL without its text', () => {
  assert.deepEqual(new AgoraError('AGORA_ERR_RPC_NO_METHOD', ['echo', 'x']).toWire(), {
    code: 'AGORA_ERR_RPC_NO_METHOD',
    message: 'Service echo has no method x',
  });
  assert.deepEqual(toWire(new AgoraError('AGORA_ERR_RPC_BAD_PARAMS', ['n'], { data: { field: 'n' } })), {
    code: 'AGORA_ERR_RPC_BAD_PARAMS',
    message: 'Invalid parameters: n',
    data: { field: 'n' },
  });
  for (const thrown of [
    new Error('password=hunter2 leaked'),
    new TypeError('x is undefined'),
    'a string',
    42,
    null,
    undefined,
    { code: 'AGORA_ERR_RPC_BAD_PARAMS' },
  ]) {
    const wire = toWire(thrown);
    assert.deepEqual(wire, { code: 'AGORA_ERR_INTERNAL', message: 'Internal error' });
  }
});

test('fromWire rebuilds registry codes as they were', () => {
  for (const code of Object.keys(ERRORS) as ErrorCode[]) {
    const sent = new AgoraError(code, ['a', 'b'], { data: { n: 1 } });
    const got = fromWire(sent.toWire());
    assert.equal(got.code, code);
    assert.equal(got.message, sent.message);
    assert.equal(got.status, sent.status);
    assert.equal(got.errno, sent.errno);
    assert.equal(got.grpc, sent.grpc);
    assert.deepEqual(got.data, { n: 1 });
  }
  const noData = fromWire({ code: 'AGORA_ERR_BUS_NO_SERVICE', message: 'No worker serves echo' });
  assert.equal(noData.data, undefined);
  assert.equal(fromWire({ code: 'AGORA_ERR_BUS_NO_SERVICE' }).message, 'Remote error');
});

test('fromWire keeps an unknown code in data under AGORA_ERR_INTERNAL, and survives any shape', () => {
  const foreign = fromWire({ code: 'RUBY_DRIVER_BOOM', message: 'driver failed', data: [1, 2] });
  assert.equal(foreign.code, 'AGORA_ERR_INTERNAL');
  assert.equal(foreign.errno, 999);
  assert.equal(foreign.message, 'driver failed');
  assert.deepEqual(foreign.data, { code: 'RUBY_DRIVER_BOOM', data: [1, 2] });

  // Inherited names are not registry codes.
  assert.equal(fromWire({ code: 'toString', message: 'm' }).code, 'AGORA_ERR_INTERNAL');
  assert.equal(fromWire({ code: '__proto__', message: 'm' }).code, 'AGORA_ERR_INTERNAL');

  const text = fromWire('plain text error');
  assert.deepEqual(
    [text.code, text.message, text.data],
    ['AGORA_ERR_INTERNAL', 'plain text error', 'plain text error'],
  );
  for (const odd of [null, 42, true, [1, 2], { message: 7 }, {}]) {
    const e = fromWire(odd);
    assert.ok(isAgoraError(e), JSON.stringify(odd));
    assert.equal(e.code, 'AGORA_ERR_INTERNAL');
    assert.equal(typeof e.message, 'string');
  }
});

test('isErrorCode, isAgoraError, errorMessage guard unknown values', () => {
  assert.equal(isErrorCode('AGORA_ERR_INTERNAL'), true);
  assert.equal(isErrorCode('AGORA_ERR_NOPE'), false);
  assert.equal(isErrorCode('hasOwnProperty'), false);
  assert.equal(isErrorCode(undefined), false);
  assert.equal(isAgoraError(new Error('x')), false);
  assert.equal(isAgoraError({ code: 'AGORA_ERR_INTERNAL', name: 'AgoraError' }), false);
  assert.equal(errorMessage(new Error('boom')), 'boom');
  assert.equal(errorMessage('text'), 'text');
  assert.equal(errorMessage({ a: 1 }), '{"a":1}');
  assert.equal(errorMessage(undefined), 'undefined');
  assert.equal(errorMessage(null), 'null');
});
