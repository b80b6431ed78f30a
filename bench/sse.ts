/**
 * `node dist/bench/sse.js` (after `npm run build`): what open message streams cost a gateway
 * (docs/API-V1.md "Live messages"). Starts the messaging mesh (broker, auth, channels, messages,
 * gateway; memory backend), opens BENCH_SSE_STREAMS streams (1000) spread over BENCH_SSE_CHANNELS
 * channels (10) from this process, checks that a post reaches every one of them, and reports the
 * gateway's resident memory (VmRSS) before and after, and the time from a post to its last delivery.
 */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { launch, launchServices, stopAll, type Proc } from './procs';
import { rssMb } from './startup';

const STREAMS = Number(process.env.BENCH_SSE_STREAMS ?? 1000);
const CHANNELS = Number(process.env.BENCH_SSE_CHANNELS ?? 10);
/** Requests made before the baseline is read. */
const WARM_REQUESTS = 5000;

const rssMiB = (pid: number): number => rssMb(pid) ?? NaN;

async function json(base: string, method: string, path: string, key?: number, body?: unknown): Promise<unknown> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key !== undefined) headers.authorization = `Bearer ${key}`;
  const res = await fetch(base + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

interface Stream {
  req: http.ClientRequest;
  /** Resolves when the stream has received a message event with `text`. */
  got(text: string): Promise<number>;
}

/** Open one stream (its own connection); resolves once its headers have come. */
function open(base: string, key: number, channel: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const waiters = new Map<string, (at: number) => void>();
    let buffer = '';
    const req = http.get(
      `${base}/v1/channels/${channel}/messages/stream`,
      { agent: false, headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' } },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`stream: ${res.statusCode}`));
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const data = /^data: (.*)$/m.exec(block);
            if (data === null) continue;
            const text = (JSON.parse(data[1]) as { message: string }).message;
            waiters.get(text)?.(performance.now());
          }
        });
        resolve({ req, got: (text) => new Promise((done) => waiters.set(text, done)) });
      },
    );
    req.on('error', reject);
  });
}

/** Open the streams, post, and answer the table of what they cost the gateway. */
export async function benchSse(): Promise<string> {
  const procs: Proc[] = [];
  try {
    const services = await launchServices((name, entry, env) => launch(procs, name, entry, env));
    const gateway = await launch(procs, 'gateway', 'gateway/main.js', {
      AGORA_BUS_URL: services.bus,
      AGORA_HTTP_PORT: '0',
      AGORA_MESSAGES_GRPC_URL: services.messagesGrpc,
    });
    const base = gateway.endpoints.http;
    const pid = gateway.child.pid!;
    const { session: key } = (await json(base, 'POST', '/v1/sessions', undefined, {
      username: 'bench',
      password: 'bench-password',
    })) as { session: number };
    const names = Array.from({ length: CHANNELS }, (_, i) => `bench${i}`);
    for (const name of names) await json(base, 'POST', '/v1/channels', key, { name });
    // Warm the route and the feeds once, so that the baseline holds the code the streams use.
    const warm = await Promise.all(names.map((n) => open(base, key, n)));
    warm.forEach((s) => s.req.destroy());
    await sleep(1000);
    const rest = rssMiB(pid);
    // Load first, so that the baseline holds the young generation at the size load gives it (the gateway
    // starts with a small one, README.md "The parts"): the growth measured is the streams', not V8's.
    for (let i = 0; i < WARM_REQUESTS; i += 50)
      await Promise.all(Array.from({ length: 50 }, () => json(base, 'GET', `/v1/channels/${names[0]}/messages`, key)));
    await sleep(1000);
    const before = rssMiB(pid);
    const streams: Stream[] = [];
    for (let i = 0; i < STREAMS; i += 50)
      streams.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(50, STREAMS - i) }, (_, j) => open(base, key, names[(i + j) % CHANNELS])),
        )),
      );
    const text = 'to every stream';
    const arrivals = streams.map((s) => s.got(text));
    const t0 = performance.now();
    await Promise.all(names.map((n) => json(base, 'POST', `/v1/channels/${n}/messages`, key, { message: text })));
    const last = Math.max(...(await Promise.all(arrivals)));
    await sleep(2000);
    const after = rssMiB(pid);
    const growth = after - before;
    const lines = [
      `| open streams | channels | gateway RSS at rest | after ${WARM_REQUESTS} requests (before) | after | growth | ` +
        `per stream | post → last delivery |`,
      `|---|---|---|---|---|---|---|---|`,
      `| ${STREAMS} | ${CHANNELS} | ${rest.toFixed(1)} MiB | ${before.toFixed(1)} MiB | ${after.toFixed(1)} MiB | ` +
        `${growth.toFixed(1)} MiB | ` +
        `${((growth * 1024) / STREAMS).toFixed(1)} KiB | ${(last - t0).toFixed(0)} ms |`,
    ];
    streams.forEach((s) => s.req.destroy());
    return `${lines.join('\n')}\n`;
  } finally {
    await stopAll(procs);
  }
}

if (require.main === module)
  benchSse().then(
    (table) => process.stdout.write(table),
    (err: unknown) => {
      process.stderr.write(`bench/sse: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
