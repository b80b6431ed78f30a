/**
 * The auth service (the legacy messaging API's `/logon` and `/logoff`, docs/API-LEGACY.md;
 * session checks for the other services): handlers for proto service `Auth`, served on the
 * bus and on gRPC by lib/rpc, plus the gRPC-only `Watch` stream that keeps the other
 * services' session caches coherent (./watch.ts, lib/session-watch.ts). This file wires the
 * parts, each in its own module: ./credentials.ts (usernames, passwords), ./throttle.ts
 * (failed logons), ./sessions.ts (the session lifecycle), ./sweep.ts (the expiry timer).
 * State is reached only through UserStore, SessionStore and FailureStore. This file reads
 * no environment and listens on nothing (CONTRIBUTING.md "Layout").
 */
import { AgoraError } from '../../lib/errors';
import type { Config } from '../../lib/config';
import type { AuthDefinition } from '../../lib/gen/agora/Auth';
import type { LogonRequest__Output } from '../../lib/gen/agora/LogonRequest';
import type { Logger } from '../../lib/log';
import { loadProto } from '../../lib/rpc/proto';
import type { Implementation, RpcContext, ServiceImpl } from '../../lib/rpc/service';
import type { Broadcast, FailureStore, SessionStore, UserRecord, UserStore } from '../../lib/store/contracts';
import { newUser, passwordProblem, usernameProblem, verifyPassword } from './credentials';
import { InvalidationFanout } from '../../lib/fanout';
import { drawSessionKey, Sessions } from './sessions';
import { startSweep } from './sweep';
import { clientAddr, LogonThrottle } from './throttle';
import { WatchHub, type WatchHubOptions } from './watch';

export type AuthConfig = Pick<Config, 'openRegistration' | 'sessionIdleS' | 'logonMaxFailures' | 'logonLockoutS'>;

export interface AuthDeps {
  users: UserStore;
  sessions: SessionStore;
  config: AuthConfig;
  log: Logger;
  /** Wall clock, ms since the epoch (tests inject one). */
  now?: () => number;
  /** Session key source (tests inject one to force collisions). */
  drawKey?: () => number;
  /** Watch stream tuning (tests). */
  watch?: Pick<WatchHubOptions, 'leaseMs' | 'pingMs' | 'clock'>;
  /** Shared with the other auth instances, when there can be several (lib/fanout.ts). */
  broadcast?: Broadcast;
  /** Failed logons, per user and per client address: shared with the other auth instances when there can be several. */
  failures: FailureStore;
}

/**
 * The unary handlers. proto-loader types every method's `requestStream` as plain `boolean`,
 * so lib/rpc's Implementation<D> cannot tell the streaming `Watch` apart by type and would
 * demand it; it is served from `grpcOnly` instead, and lib/rpc skips it at run time.
 */
type UnaryHandlers = Omit<Implementation<AuthDefinition>, 'Watch'>;

/** The built service: what lib/rpc serves, and its background work. */
export interface Auth {
  impl: ServiceImpl<AuthDefinition>;
  /** Expire idle sessions now and tell the watchers; answers how many expired. */
  sweep(): Promise<number>;
  /** Open Watch streams. */
  readonly watchers: number;
  /** Resolves once the service may answer (with a broadcast: once it hears itself on it). */
  start(timeoutMs: number): Promise<void>;
  /** Stop the sweep timer and end every Watch stream. */
  close(): void;
}

/** What the handlers work with. */
interface Parts {
  users: UserStore;
  sessions: Sessions;
  throttle: LogonThrottle;
  config: AuthConfig;
  now: () => number;
}

/**
 * Build auth from its stores and config. Starts the expiry sweep (./sweep.ts); `close()`
 * stops it.
 */
export function buildAuth(deps: AuthDeps): Auth {
  const { config, log } = deps;
  const now = deps.now ?? Date.now;
  const idleMs = config.sessionIdleS * 1000;
  const hub = new WatchHub({
    ...deps.watch,
    log: log.child({ mod: 'watch' }),
    onTouch: (keys) => void sessions.touch(keys),
  });
  const fanout =
    deps.broadcast === undefined
      ? undefined
      : new InvalidationFanout({ broadcast: deps.broadcast, hub, log: log.child({ mod: 'fanout' }) });
  const sessions = new Sessions({
    store: deps.sessions,
    idleMs,
    now,
    drawKey: deps.drawKey ?? drawSessionKey,
    // Empty every cache of the keys: this instance's watchers, and every other instance's (those heal on
    // their own when the invalidation cannot be published: lib/fanout.ts step 5).
    invalidate: async (keys) => {
      await (fanout === undefined ? hub.invalidate(keys) : fanout.invalidate(keys));
    },
    log,
  });
  const throttle = new LogonThrottle(deps.failures, now);
  const sweep = startSweep({ sessions, throttle, idleMs, now, log });
  return {
    impl: {
      name: 'Auth',
      definition: loadProto('auth.proto').agora.Auth.service,
      handlers: authHandlers({ users: deps.users, sessions, throttle, config, now }) as Implementation<AuthDefinition>,
      grpcOnly: { Watch: (call: Parameters<WatchHub['attach']>[0]) => hub.attach(call) },
    },
    sweep: sweep.run,
    get watchers() {
      return hub.size;
    },
    start: async (timeoutMs) => {
      await fanout?.start(timeoutMs);
    },
    close: () => {
      sweep.stop();
      fanout?.close();
      hub.close();
    },
  };
}

/** The handler table. */
function authHandlers(parts: Parts): UnaryHandlers {
  const { sessions, config } = parts;
  return {
    Logon: (request, ctx) => logon(parts, request, ctx),
    /**
     * Answers once no watcher of this instance can answer for the key any more, and no
     * watcher of another instance either unless the invalidation could not be published
     * (lib/fanout.ts: the logoff still succeeds, the session being gone; those caches heal).
     * With `check_version`, the session ends only if still at `expected_version`
     * (./sessions.ts end()).
     */
    Logoff: async (request) => {
      await sessions.end(request.sesskey, request.check_version ? request.expected_version : undefined);
      return { ok: true };
    },
    /** Refreshes the session; an expired one fails at once, even before the sweep removes it. */
    Resolve: async (request) => {
      const session = await sessions.resolve(request.sesskey);
      return {
        sesskey: request.sesskey,
        username: session.username,
        idle_s: config.sessionIdleS,
        version: session.version,
      };
    },
  };
}

/**
 * Log on, creating the user if unknown and registration is open; throttled per user and per
 * address (a logon without a client address is refused).
 */
async function logon(
  parts: Parts,
  request: LogonRequest__Output,
  ctx: RpcContext,
): Promise<{ sesskey: number; username: string; created: boolean; version: number }> {
  const addr = clientAddr(request.client_addr);
  const problem = usernameProblem(request.username) ?? passwordProblem(request.password) ?? addrProblem(addr);
  if (problem !== null) throw new AgoraError('AGORA_ERR_RPC_BAD_PARAMS', [problem]);
  const { throttle, sessions } = parts;
  return throttle.oneAtATime(request.username, async () => {
    await throttle.check(request.username, addr);
    const { user, created } = await findOrCreate(parts, request, addr);
    // `created` false with a fresh record means another instance created it first: verify anyway.
    if (!created && !(await verifyPassword(request.password, user))) {
      await throttle.failed(user.username, addr);
      ctx.log.info({ username: user.username, clientAddr: addr }, 'logon refused: wrong password');
      throw new AgoraError('AGORA_ERR_AUTH_BAD_CREDENTIALS');
    }
    await throttle.succeeded(user.username);
    const { sesskey, version } = await sessions.open(user.username);
    ctx.log.info({ username: user.username, created, clientAddr: addr }, 'logon');
    return { sesskey, username: user.username, created, version };
  });
}

/**
 * A logon names the client's address, so that failures are counted against it too: without
 * one, guesses spread over many users would never be throttled. The gateway always sends it.
 */
function addrProblem(addr: string): string | null {
  return addr.trim() === '' ? 'client_addr must name the address of the client logging on' : null;
}

/** The user, created now (with this password) if unknown and registration is open. */
async function findOrCreate(
  parts: Parts,
  request: LogonRequest__Output,
  addr: string,
): Promise<{ user: UserRecord; created: boolean }> {
  const existing = await parts.users.get(request.username);
  if (existing !== undefined) return { user: existing, created: false };
  if (!parts.config.openRegistration) {
    await parts.throttle.failed(undefined, addr);
    throw new AgoraError('AGORA_ERR_AUTH_UNKNOWN_USER', [request.username]);
  }
  return parts.users.create(await newUser(request.username, request.password, parts.now()));
}
