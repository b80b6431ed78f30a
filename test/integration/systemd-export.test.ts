/**
 * README "Production: systemd": `foreman export systemd` of the Procfiles with Agora's template
 * (deploy/systemd) writes units that `systemd-analyze verify` accepts without a warning, each
 * restarted whenever it stops (Restart=always) and reading the environment file at each start;
 * the command each runs is the Procfile's once systemd has undone its escaping (the brokers of
 * Procfile.scaled bind the first and the last endpoint of AGORA_BUS_URL).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { parseProcfile } from '../../lib/procfile';
import { ROOT, skipOrFail } from '../helpers/proc';

function usable(t: TestContext): boolean {
  for (const [program, args, pkg] of [
    ['foreman', ['version'], 'ruby-foreman'],
    ['systemd-analyze', ['--version'], 'systemd'],
  ] as const) {
    const run = spawnSync(program, args, { timeout: 10_000, stdio: 'ignore' });
    if (run.status !== 0) return skipOrFail(t, `${program} is not usable here`, pkg);
  }
  return true;
}

/** Export `procfile` with `envFile` and `formation` into a fresh directory; its unit files by name. */
function exportUnits(t: TestContext, procfile: string, envFile: string, formation: string): Map<string, string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agora-systemd-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync(
    'foreman',
    [
      ...['export', 'systemd', dir, '-f', procfile, '-e', envFile, '-m', formation],
      ...['-a', 'agora', '-u', 'root', '-d', ROOT, '--template', path.join(ROOT, 'deploy', 'systemd')],
    ],
    { cwd: ROOT, timeout: 30_000, stdio: 'pipe' },
  );
  const files = readdirSync(dir).filter((f) => f.endsWith('.service') || f.endsWith('.target'));
  // systemd-analyze verify: syntax, known keys, executables; any warning fails the test.
  const verify = spawnSync('systemd-analyze', ['verify', ...files.map((f) => path.join(dir, f))], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(verify.status, 0, verify.stderr);
  assert.equal(`${verify.stdout}${verify.stderr}`.trim(), '', 'systemd-analyze verify warns');
  return new Map(files.map((f) => [f, readFileSync(path.join(dir, f), 'utf8')]));
}

/** The value of `key=` in a unit (the first one). */
function setting(unit: string, key: string): string | undefined {
  return new RegExp(`^${key}=(.*)$`, 'm').exec(unit)?.[1];
}

/** What /bin/sh is given once systemd has undone `$$` and `%%`. */
function shellCommand(unit: string): string {
  const exec = setting(unit, 'ExecStart') ?? '';
  const m = /^\/bin\/sh -c '(.*)'$/.exec(exec);
  assert.ok(m !== null, exec);
  return m[1].replaceAll('$$', '$').replaceAll('%%', '%');
}

function checkUnits(units: Map<string, string>, procfile: string, envFile: string, counts: Record<string, number>) {
  const entries = parseProcfile(readFileSync(path.join(ROOT, procfile), 'utf8'));
  const expected = entries.flatMap((e) =>
    Array.from({ length: counts[e.name] ?? 1 }, (_, i) => `agora-${e.name}.${i + 1}.service`),
  );
  assert.deepEqual([...units.keys()].filter((f) => f.endsWith('.service')).sort(), expected.sort());
  assert.match(units.get('agora.target') ?? '', /^WantedBy=multi-user\.target$/m);
  for (const [name, unit] of units) {
    if (!name.endsWith('.service')) continue;
    assert.equal(setting(unit, 'Restart'), 'always', name);
    assert.equal(setting(unit, 'EnvironmentFile'), envFile, name);
    assert.equal(setting(unit, 'WorkingDirectory'), ROOT, name);
    const entry = entries.find((e) => name.startsWith(`agora-${e.name}.`));
    assert.ok(entry !== undefined, name);
    const command = shellCommand(unit);
    assert.ok(command === entry.command || command === `exec ${entry.command}`, `${name}: ${command}`);
  }
}

test('foreman export systemd of the Procfile: units systemd accepts, restarted always', (t) => {
  if (!usable(t)) return;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agora-env-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const envFile = path.join(dir, 'agora.env');
  writeFileSync(envFile, 'AGORA_LOG_LEVEL=info\n');
  const units = exportUnits(t, 'Procfile', envFile, 'all=1,echo=2');
  checkUnits(units, 'Procfile', envFile, { echo: 2 });
});

test('foreman export systemd of Procfile.scaled: two brokers, each binding its own endpoint', (t) => {
  if (!usable(t)) return;
  const envFile = path.join(ROOT, 'scaled.env');
  const counts = { auth: 2, channels: 2, messages: 2 };
  const units = exportUnits(t, 'Procfile.scaled', envFile, 'all=1,auth=2,channels=2,messages=2');
  checkUnits(units, 'Procfile.scaled', envFile, counts);
  // The brokers' commands, run by /bin/sh with scaled.env's AGORA_BUS_URL, bind the first and the last.
  const busUrl = /^AGORA_BUS_URL=(.*)$/m.exec(readFileSync(envFile, 'utf8'))?.[1] ?? '';
  const list = busUrl.split(',');
  assert.equal(list.length, 2, busUrl);
  for (const [unit, bind] of [
    ['agora-broker.1.service', list[0]],
    ['agora-broker2.1.service', list[1]],
  ]) {
    const command = shellCommand(units.get(unit) ?? '').replace(/exec node .*$/, 'exec printenv AGORA_BROKER_BIND');
    const out = execFileSync('/bin/sh', ['-c', command], { env: { PATH: process.env.PATH, AGORA_BUS_URL: busUrl } });
    assert.equal(out.toString().trim(), bind, unit);
  }
});
