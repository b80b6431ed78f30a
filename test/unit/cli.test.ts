/**
 * `agora`'s argument parsing and formatting (bin/cli-format.ts, bin/cli.ts), the readable log
 * lines (lib/pretty-log.ts), the restart backoff (bin/launcher.ts) and the broker's counters
 * (lib/bus/broker-stats.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommanderError } from 'commander';
import { encodeResponse, encodeRequest, encodeMeta } from '../../lib/bus/codec';
import {
  LATENCY_BOUNDS_MS,
  quantileOf,
  responseFailed,
  ServiceMetrics,
  tailEvent,
  type BrokerStatus,
} from '../../lib/bus/broker-stats';
import { AgoraError } from '../../lib/errors';
import { prettyLine, wantsPretty } from '../../lib/pretty-log';
import { program } from '../../bin/cli';
import {
  CliError,
  errorJson,
  exitCodeFor,
  parseDuration,
  parseParams,
  statusTable,
  tailLine,
  useColor,
} from '../../bin/cli-format';
import { restartDelay } from '../../bin/launcher';

test('call parameters: each one JSON value; a bare word is a string; anything else is refused', () => {
  assert.deepEqual(parseParams(['"hi"', '42', '{"a":[1,null]}', 'true', 'null', 'hi']), [
    'hi',
    42,
    { a: [1, null] },
    true,
    null,
    'hi',
  ]);
  assert.deepEqual(parseParams([]), []);
  assert.throws(() => parseParams(['{bad']), /not a JSON value/);
  assert.throws(() => parseParams(['two words']), /not a JSON value/);
});

test('durations: 5s, 500ms, a bare number of seconds; nothing else', () => {
  assert.equal(parseDuration('5s'), 5000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('2'), 2000);
  assert.equal(parseDuration('0.5s'), 500);
  for (const bad of ['', '0', '-1s', '5m', 'soon']) assert.throws(() => parseDuration(bad), /duration/, bad);
});

test('exit codes follow the error class; the error prints in its documented shape', () => {
  assert.equal(exitCodeFor(new AgoraError('AGORA_ERR_BUS_NO_SERVICE', ['x'])), 69);
  assert.equal(exitCodeFor(new AgoraError('AGORA_ERR_BUS_DISCONNECTED')), 69);
  assert.equal(exitCodeFor(new AgoraError('AGORA_ERR_BUS_TIMEOUT', ['a', 'b'])), 75);
  assert.equal(exitCodeFor(new AgoraError('AGORA_ERR_BUS_FORBIDDEN', ['k', 'x'])), 77);
  assert.equal(exitCodeFor(new AgoraError('AGORA_ERR_RPC_BAD_PARAMS', ['no'])), 65);
  assert.equal(exitCodeFor(new AgoraError('AGORA_ERR_INTERNAL')), 70);
  assert.equal(exitCodeFor(new Error('plain')), 1);
  const json = errorJson(new AgoraError('AGORA_ERR_BUS_NO_SERVICE', ['nosuch']));
  assert.deepEqual(json, {
    code: 503,
    errno: 201,
    error: 'Service Unavailable',
    message: 'No worker serves nosuch',
    agoraCode: 'AGORA_ERR_BUS_NO_SERVICE',
  });
  assert.deepEqual(errorJson(new AgoraError('AGORA_ERR_INTERNAL', [], { data: { x: 1 } })).data, { x: 1 });
});

test('colour only on a terminal, and never with NO_COLOR set', () => {
  assert.equal(useColor({ isTTY: true }, {}), true);
  assert.equal(useColor({ isTTY: true }, { NO_COLOR: '1' }), false);
  assert.equal(useColor({ isTTY: true }, { NO_COLOR: '' }), true);
  assert.equal(useColor({ isTTY: false }, {}), false);
  assert.equal(useColor({}, {}), false);
});

/** Parse `argv` with actions that record what they were given instead of running. */
async function parse(argv: string[]): Promise<{ error?: CommanderError }> {
  const cli = program(() => assert.fail('no command should run'));
  cli.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  for (const c of cli.commands)
    c.exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  try {
    await cli.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return { error: e };
    throw e;
  }
  return {};
}

test('the program: commands, --help everywhere, unknown commands and options are usage errors', async () => {
  const names = program(() => undefined).commands.map((c) => c.name());
  assert.deepEqual(names.sort(), ['call', 'keys', 'nodes', 'routes', 'start', 'status', 'tail']);
  for (const name of [...names, '']) {
    const { error } = await parse(name === '' ? ['--help'] : [name, '--help']);
    assert.equal(error?.code, 'commander.helpDisplayed', name);
  }
  assert.equal((await parse(['nosuch'])).error?.code, 'commander.unknownCommand');
  assert.equal((await parse(['status', '--nosuch'])).error?.code, 'commander.unknownOption');
  assert.equal((await parse(['call', 'echo'])).error?.code, 'commander.missingArgument');
  assert.equal((await parse(['status', '--timeout', 'soon'])).error?.code, 'commander.invalidArgument');
  // A parameter that is not JSON is refused before anything connects.
  await assert.rejects(
    parse(['call', 'echo', 'echo', '{bad']),
    (e: unknown) => e instanceof CliError && e.exitCode === 64,
  );
});

const STATUS: BrokerStatus = {
  uptimeMs: 61_000,
  tailers: 0,
  services: [
    { name: 'echo', workers: 2, slots: 64, busy: 3, queued: 0, calls: 120, errors: 0, rate: 4.5, p50: 1, p99: 8 },
    { name: 'Auth', workers: 0, slots: 0, busy: 0, queued: 2, calls: 0, errors: 0, rate: 0, p50: null, p99: null },
  ],
};

test('status table: a header, one row per service sorted by name, the numbers aligned', () => {
  const text = statusTable(STATUS, false);
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[0], 'broker up 61 s, 2 service(s), latency since start');
  assert.match(lines[1], /^SERVICE\s+WORKERS\s+BUSY\/SLOTS\s+QUEUED\s+CALLS\s+ERRORS\s+CALLS\/S\s+P50 MS\s+P99 MS$/);
  assert.match(lines[2], /^Auth\s+0\s+0\/0\s+2\s+0\s+0\s+0\s+-\s+-$/);
  assert.match(lines[3], /^echo\s+2\s+3\/64\s+0\s+120\s+0\s+4\.5\s+≤1\s+≤8$/);
  assert.equal(new Set(lines.slice(1).map((l) => l.length)).size, 1, 'every row as wide as the header');
  assert.ok(!text.includes('\x1b['));
  assert.ok(statusTable(STATUS, true).includes('\x1b[31m'), 'a service without workers in red');
});

test('tail line: time, service.method, caller, ms, outcome, request id', () => {
  const event = { t: Date.UTC(2026, 0, 1, 12, 0, 1, 5), service: 'echo', method: 'echo', caller: 'gateway' };
  assert.equal(
    tailLine({ ...event, reqId: 'r1', ms: 1.234, outcome: 'ok' }, false),
    '12:00:01.005  echo.echo  from gateway  1.23ms  ok  req=r1',
  );
  assert.equal(
    tailLine(
      { ...event, method: null, caller: null, reqId: null, ms: null, outcome: 'AGORA_ERR_BUS_NO_SERVICE' },
      false,
    ),
    '12:00:01.005  echo.?  from ?  -  AGORA_ERR_BUS_NO_SERVICE',
  );
});

test('pretty log lines: time, level, message, the fields that matter; no stack; other lines as they are', () => {
  const time = Date.UTC(2026, 0, 1, 9, 30, 0, 250);
  const base = { time, pid: 1, hostname: 'h', svc: 'gateway' };
  const line = JSON.stringify({
    level: 50,
    ...base,
    mod: 'x',
    ms: 12,
    reqId: 'abc',
    err: { type: 'Error', message: 'boom', code: 'E1', stack: 'Error: boom\n    at x' },
    msg: 'request failed',
  });
  assert.equal(prettyLine(line, false), '09:30:00.250 ERROR request failed reqId=abc ms=12 err="boom (E1)"');
  const ready = JSON.stringify({
    level: 30,
    ...base,
    ready: true,
    endpoints: { bus: 'tcp://h:1', service: 'echo' },
    msg: 'ready',
  });
  assert.equal(prettyLine(ready, false), '09:30:00.250 INFO  ready bus=tcp://h:1 service=echo');
  assert.equal(prettyLine('plain text', false), 'plain text');
  assert.equal(prettyLine('{"not":"pino"}', false), '{"not":"pino"}');
  assert.equal(prettyLine('{broken', false), '{broken');
  assert.equal(prettyLine('{"ready":true,"endpoints":{"bus":"tcp://h:1"},"service":"driver.ruby"}', false), undefined);
  assert.ok(String(prettyLine(line, true)).includes('\x1b[31mERROR\x1b[0m'));
  assert.ok(
    !String(prettyLine(JSON.stringify({ level: 30, ...base, msg: 'x', big: 'y'.repeat(500) }), false)).includes(
      'y'.repeat(200),
    ),
  );
  assert.equal(wantsPretty('auto', true), true);
  assert.equal(wantsPretty('auto', false), false);
  assert.equal(wantsPretty('json', true), false);
  assert.equal(wantsPretty('pretty', false), true);
});

test('restart backoff: 0.5 s doubling, capped at 30 s', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 8, 20].map(restartDelay),
    [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000],
  );
});

test('broker counters: calls, errors, histogram quantiles, the recent rate', () => {
  const m = new ServiceMetrics(0);
  for (let i = 0; i < 98; i++) m.record(0.8, false);
  m.record(50, true);
  m.record(100_000, false);
  assert.equal(m.calls, 100);
  assert.equal(m.errors, 1);
  assert.equal(m.quantile(0.5), 1);
  assert.equal(m.quantile(0.99), 64);
  assert.equal(m.quantile(1), Infinity);
  assert.equal(quantileOf(new Uint32Array(LATENCY_BOUNDS_MS.length + 1), 0.5), null);
  m.roll(1000); // too soon: the window stays
  m.roll(5000);
  for (let i = 0; i < 50; i++) m.record(1, false);
  assert.equal(m.rate(10_000), 15); // 150 calls over the 10 s since the previous window began
  m.roll(10_000);
  assert.equal(m.rate(15_000), 5); // 50 calls over the last 10 s
});

test('a response carries an error when the field after its msgid is not nil', () => {
  assert.equal(responseFailed(encodeResponse(1, null, 'hi')), false);
  assert.equal(responseFailed(encodeResponse(1, { code: 'AGORA_ERR_INTERNAL', message: 'x' }, null)), true);
  assert.equal(responseFailed(encodeResponse(70_000, null, 1)), false);
  assert.equal(responseFailed(encodeResponse(70_000, { code: 'E', message: 'm' }, null)), true);
  assert.equal(responseFailed(encodeResponse(4_000_000_000, { code: 'E', message: 'm' }, null)), true);
  assert.equal(responseFailed(Buffer.from('not msgpack')), false);
  assert.equal(responseFailed(undefined), false);
});

test('a tail event names the method, the caller and the request id of the request', () => {
  const body = [encodeRequest(7, 'echo', ['x']), encodeMeta({ caller: 'gateway', reqId: 'r-9', deadline: 1 })];
  const event = tailEvent('echo', body, 1.23456, 'ok');
  assert.deepEqual(
    { ...event, t: 0 },
    {
      t: 0,
      service: 'echo',
      method: 'echo',
      caller: 'gateway',
      reqId: 'r-9',
      ms: 1.235,
      outcome: 'ok',
    },
  );
  assert.deepEqual(tailEvent('x', [Buffer.from('junk')], null, 'AGORA_ERR_BUS_NO_SERVICE').method, null);
});
