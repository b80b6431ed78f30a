/**
 * The commands of `agora` that ask the broker (README.md "The agora command"): `status`
 * (`mmi.status`), `call` (one bus call) and `tail` (`mmi.tail`), per docs/PROTOCOL.md §16.
 */
import { randomUUID } from 'node:crypto';
import type { TailEvent } from '../lib/bus/broker-stats';
import { MMI_TAIL, TAIL_LEASE_MS } from '../lib/bus/broker-stats';
import { createClient, type BusClient } from '../lib/bus/client';
import { unpack } from '../lib/bus/codec';
import { EMPTY, MDPC01 } from '../lib/bus/mdp';
import { peerMechanism } from '../lib/bus/security';
import type { Config } from '../lib/config';
import { AgoraError } from '../lib/errors';
import { DealerSocket } from '../lib/bus/zmtp';
import { EXIT, reportError, statusTable, tailLine, unavailable } from './cli-format';

/** Where a command writes, and whether it may colour. */
export interface Output {
  out: { write(text: string): unknown; isTTY?: boolean };
  err: { write(text: string): unknown };
  color: boolean;
}

/** The name the command calls as (metadata `caller`). */
const CALLER = 'agora-cli';

async function connect(config: Readonly<Config>, timeoutMs: number): Promise<BusClient> {
  return createClient({
    endpoint: config.busUrl,
    timeoutMs,
    caller: CALLER,
    mechanism: await peerMechanism(config),
    handshakeMs: config.zmtpHandshakeMs,
  });
}

/** An error from the broker's side: a timeout of an MMI request means nobody answered. */
function brokerError(err: unknown, config: Readonly<Config>): unknown {
  return err instanceof AgoraError && err.code === 'AGORA_ERR_BUS_TIMEOUT' ? unavailable(config.busUrl) : err;
}

export interface StatusOptions {
  json: boolean;
  watch: boolean;
  intervalMs: number;
  timeoutMs: number;
  /** Stop watching (tests, SIGINT). */
  signal?: AbortSignal;
}

/** `agora status`: once, or every `intervalMs` with `watch` (the screen cleared on a terminal). */
export async function statusCommand(config: Readonly<Config>, o: StatusOptions, io: Output): Promise<number> {
  const client = await connect(config, o.timeoutMs);
  let shown = 0;
  try {
    for (;;) {
      const status = await client.status({ timeoutMs: o.timeoutMs });
      const text = o.json
        ? `${JSON.stringify(status, null, o.watch ? undefined : 2)}\n`
        : statusTable(status, io.color);
      // On a terminal the screen is redrawn; elsewhere each refresh follows a blank line.
      const clear = !o.watch || o.json ? '' : io.out.isTTY === true ? '\x1b[H\x1b[2J' : shown++ > 0 ? '\n' : '';
      io.out.write(`${clear}${text}`);
      if (!o.watch) return EXIT.OK;
      await sleep(o.intervalMs, o.signal);
      if (o.signal?.aborted === true) return EXIT.OK;
    }
  } catch (err) {
    return reportError(brokerError(err, config), io.err);
  } finally {
    client.close();
  }
}

export interface CallCommandOptions {
  json: boolean;
  timeoutMs: number;
  reqId?: string;
}

/** `agora call SERVICE METHOD [PARAM…]`: the result on stdout, or the error on stderr. */
export async function callCommand(
  config: Readonly<Config>,
  service: string,
  method: string,
  params: unknown[],
  o: CallCommandOptions,
  io: Output,
): Promise<number> {
  const client = await connect(config, o.timeoutMs);
  try {
    // The broker answers MMI at once: no answer means no broker, not a slow service.
    await client.hasService(service, { timeoutMs: o.timeoutMs }).catch((err: unknown) => {
      throw brokerError(err, config);
    });
    const result = await client.call(service, method, params, {
      timeoutMs: o.timeoutMs,
      reqId: o.reqId ?? randomUUID(),
    });
    io.out.write(`${o.json ? JSON.stringify(result) : JSON.stringify(result, null, 2)}\n`);
    return EXIT.OK;
  } catch (err) {
    return reportError(err, io.err);
  } finally {
    client.close();
  }
}

export interface TailOptions {
  json: boolean;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * `agora tail [SERVICE]`: a line per call the broker answers until `signal` aborts. The
 * stream of replies to one `mmi.tail` request is read on a socket of its own (the bus client
 * matches one answer per MMI request); the request is renewed well within its lease.
 */
export async function tailCommand(
  config: Readonly<Config>,
  service: string | undefined,
  o: TailOptions,
  io: Output,
): Promise<number> {
  const socket = new DealerSocket({ mechanism: await peerMechanism(config), handshakeMs: config.zmtpHandshakeMs });
  const ask = (body: string): boolean => socket.send([EMPTY, MDPC01, Buffer.from(MMI_TAIL), Buffer.from(body)]);
  let acknowledged = false;
  return new Promise<number>((resolve) => {
    const finish = (code: number): void => {
      clearInterval(renew);
      clearTimeout(noAnswer);
      o.signal?.removeEventListener('abort', onAbort);
      if (acknowledged) ask('stop');
      setTimeout(() => void socket.close(), 50).unref();
      resolve(code);
    };
    const onAbort = (): void => finish(EXIT.OK);
    const noAnswer = setTimeout(() => finish(reportError(unavailable(config.busUrl), io.err)), o.timeoutMs);
    const renew = setInterval(() => ask(service ?? ''), TAIL_LEASE_MS / 3);
    o.signal?.addEventListener('abort', onAbort);
    socket.onMessage = (frames) => {
      if (frames.length < 4) return;
      const body = frames[3];
      if (body.toString() === '503') return finish(reportError(tooMany(), io.err));
      if (body.toString() === '501')
        return finish(reportError(new AgoraError('AGORA_ERR_INTERNAL', [], { message: 'broker too old' }), io.err));
      const message = unpack(body) as TailEvent | { tailing: boolean };
      if ('tailing' in message) {
        if (!acknowledged) {
          acknowledged = true;
          clearTimeout(noAnswer);
          io.err.write(`agora: tailing ${service ?? 'every service'} at ${config.busUrl}\n`);
        }
        return undefined;
      }
      io.out.write(`${o.json ? JSON.stringify(message) : tailLine(message, io.color)}\n`);
      return undefined;
    };
    socket.connect(config.busUrl);
    ask(service ?? '');
  });
}

function tooMany(): AgoraError {
  return new AgoraError('AGORA_ERR_BUS_QUEUE_FULL', ['mmi.tail'], { message: 'Too many clients tail the broker' });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done);
  });
}
