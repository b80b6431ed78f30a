import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  isReadyLine,
  labelWidth,
  parseFormation,
  parseProcfile,
  planProcesses,
  prefix,
  shellScript,
} from '../../lib/procfile';
import { ROOT } from '../helpers/proc';

test('parseProcfile reads entries in order, skipping blanks and comments', () => {
  const text =
    '# the mesh\r\nbroker: node dist/services/broker/main.js\n\n  # indented comment\necho:node a.js --x=1 \nweb-2_b:   sh -c "a: b"\n';
  assert.deepEqual(parseProcfile(text), [
    { name: 'broker', command: 'node dist/services/broker/main.js' },
    { name: 'echo', command: 'node a.js --x=1' },
    { name: 'web-2_b', command: 'sh -c "a: b"' },
  ]);
});

test('parseProcfile names the line of a malformed entry or a repeated name', () => {
  assert.throws(() => parseProcfile('a: x\nnot an entry\n'), /line 2: expected "name: command"/);
  assert.throws(() => parseProcfile('a b: x\n'), /line 1/);
  assert.throws(() => parseProcfile('a:\n'), /line 1/);
  assert.throws(() => parseProcfile('a: x\n\na: y\n'), /line 3: "a" is defined twice/);
});

test("the repository's Procfile starts the broker and echo from dist/, with a fixed young generation", () => {
  const entries = parseProcfile(readFileSync(path.join(ROOT, 'Procfile'), 'utf8'));
  assert.deepEqual(entries.slice(0, 2), [
    { name: 'broker', command: 'node --min-semi-space-size=2 --max-semi-space-size=2 dist/services/broker/main.js' },
    { name: 'echo', command: 'node --min-semi-space-size=16 dist/services/echo/main.js' },
  ]);
});

test('parseFormation: none means one of each', () => {
  assert.deepEqual(
    [...parseFormation(undefined, ['broker', 'echo'])],
    [
      ['broker', 1],
      ['echo', 1],
    ],
  );
});

test('parseFormation follows foreman: unlisted entries run `all` times, 0 when `all` is unset', () => {
  assert.deepEqual(
    [...parseFormation('echo=2', ['broker', 'echo'])],
    [
      ['broker', 0],
      ['echo', 2],
    ],
  );
  assert.deepEqual(
    [...parseFormation(' all=1, echo=3 ', ['broker', 'echo'])],
    [
      ['broker', 1],
      ['echo', 3],
    ],
  );
  assert.deepEqual(
    [...parseFormation('echo=0,all=2', ['broker', 'echo'])],
    [
      ['broker', 2],
      ['echo', 0],
    ],
  );
});

test('parseFormation refuses unknown names and bad counts', () => {
  assert.throws(() => parseFormation('ecoh=2', ['broker', 'echo']), /no Procfile entry named "ecoh"/);
  assert.throws(() => parseFormation('echo=-1', ['echo']), /expected name=N/);
  assert.throws(() => parseFormation('echo', ['echo']), /expected name=N/);
});

test('planProcesses numbers instances from 1 in Procfile order', () => {
  const entries = parseProcfile('broker: b\necho: e\nidle: i\n');
  const plan = planProcesses(entries, parseFormation('all=1,echo=2,idle=0', ['broker', 'echo', 'idle']));
  assert.deepEqual(
    plan.map((p) => [p.label, p.name, p.index, p.command]),
    [
      ['broker.1', 'broker', 1, 'b'],
      ['echo.1', 'echo', 1, 'e'],
      ['echo.2', 'echo', 2, 'e'],
    ],
  );
});

test('labels are padded to the widest, the launcher\'s own "system" included', () => {
  assert.equal(labelWidth(['a.1']), 'system'.length);
  const width = labelWidth(['broker.1', 'echo.1']);
  assert.equal(prefix('echo.1', width, false), 'echo.1   | ');
  assert.equal(prefix('broker.1', width, false), 'broker.1 | ');
});

test('prefix colours the label only when asked, cycling by slot', () => {
  assert.equal(prefix('a.1', 6, true, 0), '\x1b[36ma.1    | \x1b[0m');
  assert.equal(prefix('a.1', 6, true, 1), '\x1b[33ma.1    | \x1b[0m');
  assert.equal(prefix('a.1', 6, true, 6), prefix('a.1', 6, true, 0));
  assert.equal(prefix('a.1', 6, false, 3), 'a.1    | ');
});

test('shellScript execs a simple command and leaves shell syntax to the shell', () => {
  assert.equal(shellScript('node dist/services/broker/main.js'), 'exec node dist/services/broker/main.js');
  assert.equal(shellScript(' node a.js --port=5 -x '), 'exec node a.js --port=5 -x');
  for (const command of [
    'A=1 node a.js',
    'node a.js > log',
    'a; b',
    'a && b',
    'echo "$PORT"',
    'echo $PORT',
    "echo 'x'",
    'a | b',
  ]) {
    assert.equal(shellScript(command), command);
  }
});

test('isReadyLine recognises the lifecycle ready line only', () => {
  assert.equal(isReadyLine('{"level":30,"ready":true,"endpoints":{"bus":"tcp://127.0.0.1:5555"},"msg":"ready"}'), true);
  assert.equal(isReadyLine('{"ready":false}'), false);
  assert.equal(isReadyLine('{"msg":"ready"}'), false);
  assert.equal(isReadyLine('{"ready":true'), false);
  assert.equal(isReadyLine('ready: true'), false);
});
