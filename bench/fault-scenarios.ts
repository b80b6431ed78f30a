/**
 * The fault scenarios (docs/RELIABILITY.md), shared by `npm run faults` (bench/faults.ts, full size)
 * and test/integration/faults.test.ts (small): each runs the mixed load of bench/fault-load.ts on a
 * running mesh (bench/fault-mesh.ts), injects its fault, restarts what it broke, keeps the load on
 * until no request has failed for `settleMs`, then reads every channel back.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { createClient } from '../lib/bus/client';
import { MixedLoad, type Figures } from './fault-load';
import type { FaultMesh } from './fault-mesh';
import { ROOT } from './procs';

export interface Sizes {
  lanes: number;
  channels: number;
  paceMs: number;
  hangMs: number;
  /** Load before the fault. */
  warmupMs: number;
  /** The load goes on until no request has failed for this long after the restart… */
  settleMs: number;
  /** …or this long after the fault. */
  maxMs: number;
  /** How long a frozen worker stays stopped. */
  freezeMs: number;
  /** Calls of the client that vanishes. */
  vanishCalls: number;
}

/** The suite's sizes (`npm run faults`). */
export const FULL: Sizes = {
  lanes: 12,
  channels: 4,
  paceMs: 20,
  hangMs: 15_000,
  warmupMs: 5000,
  settleMs: 5000,
  maxMs: 90_000,
  freezeMs: 10_000,
  vanishCalls: 10_000,
};

export interface Scenario {
  key: string;
  title: string;
  /** Inject the fault and restart what it broke; resolves with a note on what was done. */
  fault(mesh: FaultMesh, sizes: Sizes): Promise<string>;
}

export interface ScenarioResult {
  key: string;
  title: string;
  figures: Figures;
  note: string;
  lostExamples: string[];
  /** No request failed for `settleMs` before `maxMs` had passed since the fault: the mesh came back. */
  settled: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const n = (x: number): string => x.toLocaleString('en-US');

/** SIGKILL `name`, then start it again at once, as a supervisor would. */
async function killAndRestart(mesh: FaultMesh, name: string): Promise<string> {
  const proc = mesh.procs.get(name);
  if (proc === undefined) throw new Error(`no process named ${name}`);
  const exited = once(proc.child, 'exit');
  proc.child.kill('SIGKILL');
  await exited;
  const t0 = Date.now();
  await mesh.restart(name);
  return `${name} SIGKILLed, started again (ready in ${seconds(Date.now() - t0)})`;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    key: 'worker-of-two',
    title: 'SIGKILL a worker of a service with two (messages.1 of 2)',
    fault: (mesh) => killAndRestart(mesh, 'messages.1'),
  },
  {
    key: 'only-worker',
    title: "SIGKILL a service's only worker (channels.1)",
    fault: (mesh) => killAndRestart(mesh, 'channels.1'),
  },
  {
    key: 'broker-of-two',
    title: 'SIGKILL one of two brokers (broker.1)',
    fault: (mesh) => killAndRestart(mesh, 'broker.1'),
  },
  {
    key: 'gateway-of-two',
    title: 'SIGKILL one of two gateways (gateway.1)',
    fault: (mesh) => killAndRestart(mesh, 'gateway.1'),
  },
  {
    key: 'postgres-restart',
    title: 'Restart PostgreSQL (fast shutdown, start again)',
    fault: async (mesh) => {
      const t0 = Date.now();
      await mesh.postgres.stop();
      await mesh.postgres.restart();
      return `PostgreSQL down and back in ${seconds(Date.now() - t0)}`;
    },
  },
  {
    key: 'redis-restart',
    title: 'Restart Redis (SIGTERM, start again on its append-only file)',
    fault: async (mesh) => {
      const t0 = Date.now();
      await mesh.redis.restart();
      return `Redis down and back in ${seconds(Date.now() - t0)}`;
    },
  },
  {
    key: 'frozen-worker',
    title: 'SIGSTOP a worker (messages.1 of 2), then SIGCONT',
    fault: async (mesh, sizes) => {
      const proc = mesh.procs.get('messages.1')!;
      proc.child.kill('SIGSTOP');
      await sleep(sizes.freezeMs);
      proc.child.kill('SIGCONT');
      return `messages.1 stopped for ${seconds(sizes.freezeMs)}, then continued`;
    },
  },
  {
    key: 'vanishing-client',
    title: 'A client sends 10,000 bus calls and vanishes',
    fault: vanish,
  },
];

/** A process's open file descriptors (`/proc/<pid>/fd`), or undefined where /proc cannot tell. */
export function openFds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

/** Resident memory of `pid` in bytes (`VmRSS` of /proc/<pid>/status), or undefined. */
export function rssOf(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? undefined : Number(m[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** What both brokers hold for `echo`: requests queued and slots busy. */
async function echoHeld(busUrl: string): Promise<{ queued: number; busy: number; calls: number }> {
  const out = { queued: 0, busy: 0, calls: 0 };
  for (const endpoint of busUrl.split(',')) {
    const client = createClient({ endpoint, timeoutMs: 2000 });
    try {
      const echo = (await client.status()).services.find((s) => s.name === 'echo');
      out.queued += echo?.queued ?? 0;
      out.busy += echo?.busy ?? 0;
      out.calls += echo?.calls ?? 0;
    } finally {
      client.close();
    }
  }
  return out;
}

/** Scenario 8: a client process sends its calls, is SIGKILLed, and nothing of it may stay behind. */
async function vanish(mesh: FaultMesh, sizes: Sizes): Promise<string> {
  const brokers = ['broker.1', 'broker.2'].map((n) => mesh.procs.get(n)!.child.pid);
  const fdsBefore = brokers.map(openFds);
  const before = await echoHeld(mesh.busUrl);
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'dist/bench/vanish.js'), mesh.busUrl, `${sizes.vanishCalls}`],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`vanish exited (${code}) before sending`)));
    lines.on('line', (line) => line.startsWith('{"sent"') && resolve());
  });
  child.kill('SIGKILL');
  await exited;
  const deadline = Date.now() + 30_000;
  let held = await echoHeld(mesh.busUrl);
  while (held.queued > 0 || held.busy > sizes.lanes) {
    if (Date.now() > deadline) throw new Error(`the brokers still hold echo calls 30 s on: ${JSON.stringify(held)}`);
    await sleep(250);
    held = await echoHeld(mesh.busUrl);
  }
  const fdsAfter = brokers.map(openFds);
  const grown = fdsAfter.some((n, i) => n !== undefined && fdsBefore[i] !== undefined && n > fdsBefore[i] + 2);
  if (grown) throw new Error(`the brokers' open files grew: ${fdsBefore.join(',')} → ${fdsAfter.join(',')}`);
  return (
    `${n(sizes.vanishCalls)} calls sent, the client SIGKILLed; the brokers answered ${n(held.calls - before.calls)} ` +
    `echo calls meanwhile, then held none queued; their open files ${fdsBefore.join(', ')} → ${fdsAfter.join(', ')}`
  );
}

/** The workers of each service the mesh runs (its gateways also check Compute and Routes, which it does not). */
const SERVED: Record<string, number> = { Auth: 2, Channels: 1, Messages: 2, echo: 1 };

/**
 * Resolve once every broker has every worker of the mesh registered (a restarted or continued worker
 * included) and every gateway's `/__heartbeat__` finds the broker, the services and the stores up.
 */
export async function healthy(mesh: FaultMesh, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  const check = async (what: string, probe: () => Promise<string | true>): Promise<void> => {
    for (;;) {
      const answer = await probe().catch((e: unknown) => String(e));
      if (answer === true) return;
      if (Date.now() > deadline) throw new Error(`${what} not up within ${ms} ms: ${answer}`);
      await sleep(200);
    }
  };
  for (const endpoint of mesh.busUrl.split(',')) {
    const client = createClient({ endpoint, timeoutMs: 1000 });
    try {
      await check(`the workers on ${endpoint}`, async () => {
        const services = (await client.status()).services;
        const short = Object.entries(SERVED).filter(
          ([name, n]) => (services.find((s) => s.name === name)?.workers ?? 0) < n,
        );
        return short.length === 0 || `too few workers of ${short.map(([name]) => name).join(', ')}`;
      });
    } finally {
      client.close();
    }
  }
  for (const base of mesh.gateways) {
    await check(`${base}/__heartbeat__`, async () => {
      const res = await fetch(`${base}/__heartbeat__`, { signal: AbortSignal.timeout(5000) });
      const map = (await res.json()) as Record<string, boolean>;
      const down = Object.keys(map).filter((k) => !map[k] && k !== 'Compute' && k !== 'Routes');
      return down.length === 0 || `${res.status}: ${down.join(', ')} down`;
    });
  }
}

/** Run one scenario under the load; the mesh is healthy again when it resolves. */
export async function runScenario(mesh: FaultMesh, scenario: Scenario, sizes: Sizes): Promise<ScenarioResult> {
  await healthy(mesh);
  const load = await MixedLoad.open({
    gateways: mesh.gateways,
    busUrl: mesh.busUrl,
    prefix: `${scenario.key}-${Date.now().toString(36)}`,
    lanes: sizes.lanes,
    channels: sizes.channels,
    paceMs: sizes.paceMs,
    hangMs: sizes.hangMs,
  });
  try {
    load.start();
    await sleep(sizes.warmupMs);
    const faultAt = Date.now();
    const note = await scenario.fault(mesh, sizes);
    const restartedAt = Date.now();
    let settled = false;
    while (!settled && Date.now() - faultAt < sizes.maxMs) {
      const quietSince = Math.max(restartedAt, load.lastFailureEnd() ?? 0);
      settled = Date.now() - quietSince >= sizes.settleMs;
      if (!settled) await sleep(100);
    }
    await load.stop();
    const readBack = await load.readBack();
    return {
      key: scenario.key,
      title: scenario.title,
      figures: load.figures(faultAt, readBack),
      note,
      lostExamples: readBack.lostExamples,
      settled,
    };
  } finally {
    await load.stop();
    load.close();
    await healthy(mesh);
  }
}
