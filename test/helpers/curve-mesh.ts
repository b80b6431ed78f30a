/**
 * CURVE keys and a CURVE broker for integration tests (docs/SECURITY.md): certificates made by
 * `agora keys init` and `agora keys new` in a temporary directory, the settings each process
 * takes, and a broker process that admits the allow-list.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { peerMechanism } from '../../lib/bus/security';
import type { MechanismFactory } from '../../lib/bus/zmtp-mechanism';
import { defaultConfig } from '../../lib/config';
import { entry, ROOT, startBroker, type Started } from './proc';

export interface Keys {
  dir: string;
  /** The broker's allow-list (AGORA_BUS_ALLOW). */
  allow: string;
}

/** Run `agora keys ARGS…`; answers its stdout. */
export function agoraKeys(args: string[]): string {
  return execFileSync(process.execPath, [entry('bin/agora.js'), 'keys', ...args], { cwd: ROOT, encoding: 'utf8' });
}

/** `agora keys init` into a fresh directory, removed after the test. */
export function initKeys(t: TestContext): Keys {
  const dir = mkdtempSync(path.join(tmpdir(), 'agora-keys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  agoraKeys(['init', dir]);
  return { dir, allow: path.join(dir, 'allow') };
}

/** `agora keys new NAME` with `flags`, its public certificate put in the allow-list unless `admitted` is false. */
export function newKey(keys: Keys, name: string, flags: string[] = [], admitted = true): void {
  agoraKeys(['new', name, keys.dir, ...flags]);
  if (admitted) admit(keys, name);
}

/** Copy NAME's public certificate into the allow-list. */
export function admit(keys: Keys, name: string): void {
  copyFileSync(path.join(keys.dir, `${name}.key`), path.join(keys.allow, `${name}.key`));
}

/** The environment of a client or worker process holding the key NAME. */
export function peerEnv(keys: Keys, name: string): Record<string, string> {
  return {
    AGORA_BUS_CURVE: 'on',
    AGORA_BUS_CERT: path.join(keys.dir, `${name}.key_secret`),
    AGORA_BUS_SERVER_KEY: path.join(keys.dir, 'broker.key'),
  };
}

/** The broker's environment with CURVE on. */
export function brokerEnv(keys: Keys): Record<string, string> {
  return {
    AGORA_BUS_CURVE: 'on',
    AGORA_BUS_SERVER_CERT: path.join(keys.dir, 'broker.key_secret'),
    AGORA_BUS_ALLOW: keys.allow,
  };
}

/** A CURVE broker process on a free loopback port, stopped after the test. */
export async function startCurveBroker(t: TestContext, keys: Keys, env: Record<string, string> = {}): Promise<Started> {
  const broker = await startBroker({ ...brokerEnv(keys), ...env });
  t.after(() => broker.stop('SIGKILL'));
  return broker;
}

/** The mechanism an in-process client or worker holding the key NAME connects with. */
export async function mechanismOf(keys: Keys, name: string): Promise<MechanismFactory> {
  const env = peerEnv(keys, name);
  const mechanism = await peerMechanism({
    ...defaultConfig(),
    busCurve: 'on',
    busCert: env.AGORA_BUS_CERT,
    busServerKey: env.AGORA_BUS_SERVER_KEY,
  });
  if (mechanism === undefined) throw new Error('CURVE is on: a mechanism is expected');
  return mechanism;
}
