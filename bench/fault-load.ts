/**
 * The steady mixed load of the fault suite and the soak (docs/RELIABILITY.md), and what is measured
 * of it: `lanes` loops, each making its next request `paceMs` after its last one settled, in turn a
 * legacy `/post`, a `/v1` post, a legacy `/retrieve` of the channel's newest messages, a `/v1` read
 * of them, a `/v1` read of the channel, and an `echo.echo` bus call through both brokers. The HTTP
 * requests go to the gateways in turn, as a load balancer would spread them; like one, the load
 * sends a request whose connection is refused (nothing was sent) to the next gateway.
 *
 * Every request ends as ok, failed (with a code: the legacy reason, the `/v1` status and errno, the
 * bus error's code, or the socket error's), or hung (no answer within `hangMs`). Every post carries
 * a text of its own; `readBack` then reads every channel whole and counts the acknowledged posts
 * that are missing (lost), the texts found more than once (duplicated) and the failed posts that
 * were written all the same (their outcome was unknown to the client).
 */
import { createClient, type BusClient } from '../lib/bus/client';
import { isAgoraError } from '../lib/errors';

export interface LoadOptions {
  /** The gateways' base URLs. */
  gateways: string[];
  /** `AGORA_BUS_URL` of the bus calls (every broker). */
  busUrl: string;
  /** Channel names and post texts start with it: one per run. */
  prefix: string;
  lanes: number;
  channels: number;
  /** Pause of a lane between one request's end and its next. */
  paceMs: number;
  /** A request with no answer by then is hung. */
  hangMs: number;
  /** The requests each lane makes in turn (default: all six). */
  ops?: readonly Op[];
}

export type Op = 'legacy-post' | 'v1-post' | 'legacy-retrieve' | 'v1-messages' | 'v1-channel' | 'bus-echo';
export const OPS: readonly Op[] = [
  'legacy-post',
  'v1-post',
  'legacy-retrieve',
  'v1-messages',
  'v1-channel',
  'bus-echo',
];

export interface Outcome {
  op: Op;
  /** Date.now() at its start and end. */
  start: number;
  end: number;
  /** null: ok. */
  code: string | null;
  hung: boolean;
}

/** What a read-back found. */
export interface ReadBack {
  lost: number;
  duplicated: number;
  /** Posts that failed (or hung) yet are there. */
  writtenAfterFailure: number;
  /** Some lost texts, to look for. */
  lostExamples: string[];
}

/** One scenario's (or one soak's) figures. */
export interface Figures {
  sent: number;
  failed: number;
  /** Failures by code. */
  codes: Record<string, number>;
  hung: number;
  duplicated: number;
  acknowledgedPosts: number;
  lost: number;
  writtenAfterFailure: number;
  /** Seconds from the fault to the end of the last failed or hung request (0: none failed). */
  recoveryS: number;
  /** Failures answered only at about the bus deadline (`AT_DEADLINE_MS` or later after their start). */
  atDeadline: number;
  /** Requests a refused connection sent to the other gateway. */
  rerouted: number;
}

const HANG = Symbol('hung');

/**
 * A failure this long after its request started came at the call's deadline (the default bus
 * deadline, AGORA_REQUEST_TIMEOUT_MS, is 5 s), not at once.
 */
export const AT_DEADLINE_MS = 4500;

/** `promise`, or HANG if it has not settled within `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof HANG> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<typeof HANG>((resolve) => (timer = setTimeout(() => resolve(HANG), ms)));
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** The code of a failed fetch: its socket error's (`ECONNRESET`, `UND_ERR_SOCKET`, …) or its message. */
function fetchCode(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown } }).cause;
  if (cause !== undefined && typeof cause.code === 'string') return cause.code;
  return e instanceof Error ? e.message : String(e);
}

class Refused extends Error {}

/** A request's answer: ok, or the failure's code. */
interface Answer {
  code: string | null;
  /** The session was refused: log on again. */
  badSession?: boolean;
  body?: unknown;
}

export class MixedLoad {
  readonly outcomes: Outcome[] = [];
  /** Acknowledged post texts → channel. */
  readonly acked = new Map<string, string>();
  /** Post texts whose request failed or hung → channel. */
  readonly unsure = new Map<string, string>();
  rerouted = 0;
  private session = 0;
  private relogon: Promise<void> | undefined;
  private turn = 0;
  private stopped = true;
  private lanes: Array<Promise<void>> = [];
  /** The newest message id seen per channel (from `/v1` posts), for reads of the newest. */
  private readonly newest = new Map<string, number>();
  private readonly bus: BusClient;

  private constructor(readonly options: LoadOptions) {
    this.bus = createClient({ endpoint: options.busUrl, timeoutMs: 5000 });
  }

  /** Log on, create the channels; the load is ready to `start`. */
  static async open(options: LoadOptions): Promise<MixedLoad> {
    const load = new MixedLoad(options);
    await load.logon();
    for (const name of load.channelNames()) {
      const answer = await load.legacy('/create', { sesskey: load.session, channel: name });
      if (answer.code !== null) throw new Error(`creating ${name}: ${answer.code}`);
    }
    return load;
  }

  channelNames(): string[] {
    return Array.from({ length: this.options.channels }, (_, i) => `${this.options.prefix}-c${i}`);
  }

  start(): void {
    this.stopped = false;
    this.lanes = Array.from({ length: this.options.lanes }, (_, lane) => this.lane(lane));
  }

  /** Stop making requests; resolves once every request made has settled (or counted as hung). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.lanes);
  }

  close(): void {
    this.bus.close();
  }

  /** When the last failed or hung request ended (undefined: none did). */
  lastFailureEnd(): number | undefined {
    let last: number | undefined;
    for (const o of this.outcomes) if (o.code !== null && (last === undefined || o.end > last)) last = o.end;
    return last;
  }

  private async lane(lane: number): Promise<void> {
    const channel = this.channelNames()[lane % this.options.channels];
    const ops = this.options.ops ?? OPS;
    for (let seq = 0; !this.stopped; seq++) {
      const op = ops[(lane + seq) % ops.length];
      const start = Date.now();
      const text = `${this.options.prefix}-${lane}-${seq}`;
      const answer = await within(this.settled(op, channel, text), this.options.hangMs);
      const hung = answer === HANG;
      const code = hung ? 'hung' : answer.code;
      this.outcomes.push({ op, start, end: Date.now(), code, hung });
      if (op === 'legacy-post' || op === 'v1-post') (code === null ? this.acked : this.unsure).set(text, channel);
      if (!hung && answer.badSession === true) await this.logonAgain();
      if (this.options.paceMs > 0) await new Promise((resolve) => setTimeout(resolve, this.options.paceMs));
    }
  }

  /** The request's answer; a body cut off mid-way (a gateway killed while answering) is a failure too. */
  private settled(op: Op, channel: string, text: string): Promise<Answer> {
    return this.request(op, channel, text).catch((e: unknown) => ({ code: fetchCode(e) }));
  }

  private request(op: Op, channel: string, text: string): Promise<Answer> {
    const sesskey = this.session;
    switch (op) {
      case 'legacy-post':
        return this.legacy('/post', { sesskey, channel, message: text }, (data) => data === true);
      case 'v1-post':
        return this.v1('POST', `/v1/channels/${channel}/messages`, { message: text }).then((a) => {
          // One record's answer: {data: {id, messageid, message}, permissions} (docs/API-V1.md "Records").
          const id = (a.body as { data?: { messageid?: unknown } } | undefined)?.data?.messageid;
          if (a.code === null && typeof id !== 'number') return { code: 'v1 post without messageid' };
          if (typeof id === 'number') this.newest.set(channel, Math.max(id, this.newest.get(channel) ?? 0));
          return a;
        });
      case 'legacy-retrieve': {
        const first = (this.newest.get(channel) ?? 0) - 9;
        return this.legacy('/retrieve', { sesskey, channel, first, last: Number.MAX_SAFE_INTEGER }, Array.isArray);
      }
      case 'v1-messages':
        return this.v1('GET', `/v1/channels/${channel}/messages?_sort=-messageid&_limit=10`);
      case 'v1-channel':
        return this.v1('GET', `/v1/channels/${channel}`);
      case 'bus-echo':
        return this.echo(text);
    }
  }

  private async echo(text: string): Promise<Answer> {
    try {
      const answer = await this.bus.call('echo', 'echo', [{ text }], { idempotent: true, timeoutMs: 5000 });
      return { code: (answer as { text?: unknown }).text === text ? null : 'wrong echo' };
    } catch (e) {
      return { code: isAgoraError(e) ? e.code : String(e) };
    }
  }

  /** `fetch` on the next gateway in turn, and on the next ones while the connection is refused. */
  private async send(path: string, init: RequestInit): Promise<Response | Answer> {
    const { gateways } = this.options;
    const first = this.turn++ % gateways.length;
    let refused: unknown;
    for (let i = 0; i < gateways.length; i++) {
      try {
        if (i > 0) this.rerouted++;
        // The signal only frees the socket of a request already counted as hung (`within`).
        const signal = AbortSignal.timeout(this.options.hangMs + 5000);
        return await fetchOnce(gateways[(first + i) % gateways.length] + path, { ...init, signal });
      } catch (e) {
        if (!(e instanceof Refused)) return { code: fetchCode(e) };
        refused = e.cause;
      }
    }
    return { code: fetchCode(refused) };
  }

  /** A legacy route: ok when `status` is true and `accept` takes the data. */
  async legacy(path: string, body: unknown, accept: (data: unknown) => boolean = () => true): Promise<Answer> {
    const res = await this.send(path, { method: 'POST', body: JSON.stringify(body) });
    if (!(res instanceof Response)) return res;
    if (res.status !== 200) return { code: `legacy HTTP ${res.status}` };
    const answer = (await res.json()) as { status?: unknown; data?: unknown };
    if (answer.status === true)
      return { code: accept(answer.data) ? null : 'legacy unexpected data', body: answer.data };
    const reason = String(answer.data);
    return { code: `legacy "${reason.slice(0, 60)}"`, badSession: /session/i.test(reason) };
  }

  private async v1(method: string, path: string, body?: unknown): Promise<Answer> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.session}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await this.send(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!(res instanceof Response)) return res;
    const json = (await res.json().catch(() => undefined)) as { errno?: unknown; message?: unknown } | undefined;
    if (res.ok) return { code: null, body: json };
    const code = `v1 HTTP ${res.status} errno ${String(json?.errno)} "${String(json?.message).slice(0, 60)}"`;
    return { code, badSession: res.status === 401 };
  }

  private async logon(): Promise<void> {
    const user = `${this.options.prefix}-user`;
    for (let attempt = 0; ; attempt++) {
      const answer = await this.legacy('/logon', { username: user, password: `pw-${user}` });
      if (answer.code === null) {
        this.session = answer.body as number;
        return;
      }
      if (attempt >= 50) throw new Error(`logon of ${user}: ${answer.code}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** One new logon for every lane that saw its session refused at about the same time. */
  private logonAgain(): Promise<void> {
    this.relogon ??= this.logon().finally(() => (this.relogon = undefined));
    return this.relogon;
  }

  /**
   * Read every channel whole (retrying for up to 60 s while it fails) and compare with what was posted.
   * With `retained` (the mesh's AGORA_MESSAGES_RETAINED), only the posts a channel still keeps are looked
   * for: of each channel's acknowledged posts, the newest `retained` less the failed ones (which may hold a
   * place). Each lane posts to its own channel one post at a time, so acknowledgement order is id order.
   */
  async readBack(retained = Infinity): Promise<ReadBack> {
    if (retained !== Infinity && this.options.lanes > this.options.channels)
      throw new Error('readBack(retained) needs a channel per lane, so that acknowledgement order is id order');
    const seen = new Map<string, number>();
    for (const channel of this.channelNames()) {
      for (const m of await this.readChannel(channel)) seen.set(m.message, (seen.get(m.message) ?? 0) + 1);
    }
    const kept = (texts: Map<string, string>, channel: string): string[] =>
      [...texts].filter(([, c]) => c === channel).map(([text]) => text);
    const expected = this.channelNames().flatMap((channel) => {
      const acked = kept(this.acked, channel);
      return acked.slice(Math.max(0, acked.length - Math.max(0, retained - kept(this.unsure, channel).length)));
    });
    const lostTexts = expected.filter((text) => !seen.has(text));
    const ours = [...seen].filter(([text]) => text.startsWith(`${this.options.prefix}-`));
    return {
      lost: lostTexts.length,
      duplicated: ours.filter(([, n]) => n > 1).length,
      writtenAfterFailure: [...this.unsure.keys()].filter((text) => seen.has(text)).length,
      lostExamples: lostTexts.slice(0, 5),
    };
  }

  private async readChannel(channel: string): Promise<Array<{ message: string }>> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const answer = await this.legacy(
        '/retrieve',
        { sesskey: this.session, channel, first: -1, last: Number.MAX_SAFE_INTEGER },
        Array.isArray,
      ).catch((e: unknown): Answer => ({ code: fetchCode(e) }));
      if (answer.code === null) return answer.body as Array<{ message: string }>;
      if (Date.now() > deadline) throw new Error(`reading ${channel} back: ${answer.code}`);
      if (answer.badSession === true) await this.logonAgain();
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /** The figures of the requests made, with the fault at `faultAt` (Date.now()). */
  figures(faultAt: number, readBack: ReadBack): Figures {
    return figuresOf(this.outcomes, faultAt, readBack, this.acked.size, this.rerouted);
  }
}

/** A fetch whose refused connection throws `Refused` (its cause the original error). */
async function fetchOnce(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    if (fetchCode(e) === 'ECONNREFUSED') throw new Refused('refused', { cause: e });
    throw e;
  }
}

/** The figures of `outcomes` around a fault at `faultAt`. */
export function figuresOf(
  outcomes: readonly Outcome[],
  faultAt: number,
  readBack: ReadBack,
  acknowledgedPosts: number,
  rerouted = 0,
): Figures {
  const codes: Record<string, number> = {};
  let failed = 0;
  let hung = 0;
  let lastEnd = faultAt;
  let atDeadline = 0;
  for (const o of outcomes) {
    if (o.code === null) continue;
    if (o.hung) hung++;
    else {
      failed++;
      if (o.end - o.start >= AT_DEADLINE_MS) atDeadline++;
      const key = `${o.op}: ${o.code}`;
      codes[key] = (codes[key] ?? 0) + 1;
    }
    lastEnd = Math.max(lastEnd, o.end);
  }
  return {
    sent: outcomes.length,
    failed,
    codes,
    hung,
    duplicated: readBack.duplicated,
    acknowledgedPosts,
    lost: readBack.lost,
    writtenAfterFailure: readBack.writtenAfterFailure,
    recoveryS: Math.round((lastEnd - faultAt) / 100) / 10,
    atDeadline,
    rerouted,
  };
}
