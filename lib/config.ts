/**
 * The one typed configuration of Agora (CONTRIBUTING.md "Configuration"). This is the only module that reads
 * `process.env`. Every variable is declared once in VARIABLES with its parser and
 * default; `loadConfig` collects every bad value into one error naming each variable.
 */
import { readFileSync } from 'node:fs';
import { AgoraError } from './errors';
import { LOG_FORMATS, type LogFormat } from './pretty-log';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The authentication policies of /v1 (AGORA_AUTH_POLICIES). */
export const AUTH_POLICIES = ['session', 'basic'] as const;
export type AuthPolicy = (typeof AUTH_POLICIES)[number];

export interface Config {
  /** Where the broker binds and every other process connects (ZeroMQ endpoint). */
  busUrl: string;
  /** Port the HTTP gateway listens on. */
  httpPort: number;
  logLevel: LogLevel;
  /** MDP heartbeat interval (RFC 7 §"Heartbeating"). */
  heartbeatMs: number;
  /** Missed heartbeats before a peer is declared dead. */
  heartbeatLiveness: number;
  /** Largest request or reply body frame accepted on the bus. */
  busMaxBodyBytes: number;
  /** Time a bus peer has to finish its ZMTP greeting and handshake. */
  zmtpHandshakeMs: number;
  /** The bus runs CURVE (docs/SECURITY.md): `on` or `off`. */
  busCurve: 'on' | 'off';
  /** The broker's secret certificate file (CURVE). */
  busServerCert: string;
  /** This process's own secret certificate file (CURVE clients and workers). */
  busCert: string;
  /** The broker's public key, Z85 or a public certificate file (CURVE clients and workers). */
  busServerKey: string;
  /** Directory of the public certificates the broker admits, re-read on SIGHUP (CURVE). */
  busAllow: string;
  /** Let a broker without CURVE listen beyond loopback. */
  busInsecure: boolean;
  /** Requests waiting per service when all its workers are busy. */
  brokerQueueMax: number;
  /** Default deadline of a bus call. */
  requestTimeoutMs: number;
  /** Worker sockets, hence requests in flight, per service per process. */
  workerConcurrency: number;
  /** Calls in flight per bus client before new calls are refused. */
  clientMaxPending: number;
  /** gRPC addresses (host:port) each service binds and the others dial. */
  authGrpcUrl: string;
  channelsGrpcUrl: string;
  messagesGrpcUrl: string;
  /** Deadline of typed gRPC calls between services. */
  grpcTimeoutMs: number;
  /**
   * host:port this service's gRPC binds instead of its AGORA_<NAME>_GRPC_URL (several instances on one host);
   * empty: that URL.
   */
  grpcBind: string;
  /** Unknown users are created at their first logon. */
  openRegistration: boolean;
  /** Sessions end after this long without use. */
  sessionIdleS: number;
  /** Wrong passwords allowed per user and per client address in a window before logons are refused. */
  logonMaxFailures: number;
  /** The window of logonMaxFailures, and how long a refusal lasts. */
  logonLockoutS: number;
  /** Messages kept per channel (the newest). */
  messagesRetained: number;
  /** Longest message text, in bytes of UTF-8. */
  messageMaxBytes: number;
  /** gRPC address of the compute service. */
  computeGrpcUrl: string;
  /** Bus service name of the driver compute calls (docs/COMPUTE.md). */
  computeDriver: string;
  /** Nodes one user may hold at once. */
  computeMaxNodesPerUser: number;
  /** How often compute reads the driver's nodes (state changes, deaths, reconciliation). */
  computeSyncMs: number;
  /** Bus service name the TypeScript driver registers. */
  driverService: string;
  /** gRPC address of the TypeScript driver. */
  driverGrpcUrl: string;
  /** Image `command` (an arbitrary command given at create time) is allowed. */
  driverAllowCommand: boolean;
  /** SIGTERM → SIGKILL delay when a node is stopped. */
  driverStopGraceMs: number;
  /** Time a starting node has to answer its health check. */
  driverHealthTimeoutMs: number;
  /** Output lines kept per node. */
  driverOutputLines: number;
  /** Nodes the TypeScript driver holds at most, all owners together. */
  driverMaxNodes: number;
  /**
   * Root of the drivers' state directories (node records, output logs); empty: the OS temp dir's
   * `agora-driver-<uid>`.
   */
  driverStateDir: string;
  /** On SIGTERM, leave node processes running for the next driver start to adopt, instead of stopping them. */
  driverKeepNodes: boolean;
  /** Bus service name the Ruby driver (workers/ruby/driver.rb) registers. */
  rubyDriverService: string;
  /** Most sub-requests one POST /v1/batch may carry. */
  batchMaxRequests: number;
  /** Most records one page of a /v1 list answers (a larger _limit is lowered to it). */
  pageMaxRecords: number;
  /** The gateway's URL as clients reach it; empty: taken from each request. */
  publicUrl: string;
  /** Bearer token `GET /metrics` requires; empty: open. */
  metricsToken: string;
  /** Where the source lives, for /__version__; empty: none published. */
  sourceUrl: string;
  /** The commit deployed, for /__version__; empty: read from .git. */
  commit: string;
  /** Deadline of each dependency check of /__heartbeat__. */
  healthTimeoutMs: number;
  /** Origins allowed by CORS; `*` for any. */
  corsOrigins: readonly string[];
  /** Requests per client address per window; 0: no rate limit. */
  rateLimitMax: number;
  rateLimitWindowMs: number;
  /** Load shedding thresholds (0: not checked). */
  maxEventLoopDelayMs: number;
  maxHeapUsedBytes: number;
  maxRssBytes: number;
  /** Retry-After of 503 and overload answers. */
  retryAfterS: number;
  /** Backoff sent on every response; 0: none. */
  backoffS: number;
  /** PostgreSQL connection URL; empty keeps users, channels and messages in memory. */
  databaseUrl: string;
  /** Connections per process in the PostgreSQL pool. */
  databasePoolMax: number;
  /** Redis URL; empty keeps sessions in PostgreSQL (when configured) or in memory. */
  redisUrl: string;
  /** Prefix of every Redis key (and pub/sub channel) Agora uses. */
  redisPrefix: string;
  /** Deadline of one storage call (connect, query, command). */
  storeTimeoutMs: number;
  /** Port the proxy (services/proxy) listens on. */
  proxyPort: number;
  /** Domain of the nodes' static URLs: `<node>.<owner>.<this domain>`. */
  proxyDomain: string;
  /** Time the proxy has to connect to a target, unless its route sets one. */
  proxyConnectTimeoutMs: number;
  /** Time a target may stay silent while answering, unless its route sets one. */
  proxyReadTimeoutMs: number;
  /** Time a request waits for a stopped node to wake. */
  proxyWakeTimeoutMs: number;
  /** Requests held at once waiting for nodes to wake; beyond, 503. */
  proxyWakeMaxWaiting: number;
  /** Take X-Forwarded-For/-Proto/-Host from the client (a trusted front such as a TLS terminator). */
  proxyTrustForwarded: boolean;
  /** JSON file holding the proxy's route table, read at start; empty: none. */
  proxyRoutesFile: string;
  /** gRPC address of the routes service (docs/ROUTING.md). */
  routesGrpcUrl: string;
  /** gRPC address of the wake service (services/wake). */
  wakeGrpcUrl: string;
  /** Seconds without a proxied request after which a node is stopped; 0: never. */
  nodeIdleS: number;
  /** Usernames that may route a host to any URL (not only to their own nodes). */
  admins: readonly string[];
  /**
   * PEM files of this service's gRPC certificate, its key, and the CA its peers' certificates
   * are checked against (mutual TLS); empty: no TLS.
   */
  grpcTlsCert: string;
  grpcTlsKey: string;
  grpcTlsCa: string;
  /** Allow plaintext gRPC bound on an address other than loopback. */
  grpcInsecure: boolean;
  /** Time a bus request that names no deadline waits for a worker of a service that has none. */
  busWaitForWorkerMs: number;
  /** Time the gateway gives a client to send a whole request, headers and body. */
  httpRequestTimeoutMs: number;
  /** How a /v1 request may authenticate, in order: Bearer session keys, HTTP Basic (gateway/hooks/auth.ts). */
  authPolicies: readonly AuthPolicy[];
  /** Seconds a verified Basic credential stays cached in the gateway (0: verified at every request). */
  authBasicCacheS: number;
  /** End of service of the API (a date, `2030-01-01`): soft end-of-life before it, 410 after; empty: none. */
  eos: string;
  /** The end-of-service message of the `Alert` header. */
  eosMessage: string;
  /** The URL of the `Alert` header; empty: the hello's `project_docs`. */
  eosUrl: string;
  /** Interval of a message stream's heartbeat comment and session check (gateway). */
  sseHeartbeatMs: number;
  /** The endpoint this broker binds; empty: AGORA_BUS_URL, which must then name one broker. */
  brokerBind: string;
  /** How `agora start` prints its processes' log lines. */
  logFormat: LogFormat;
  /** Seconds the answer of a POST with an Idempotency-Key is kept for replay (gateway). */
  idempotencyTtlS: number;
  /** Seconds a deleted node or route is kept as a tombstone for `_since` readers. */
  tombstoneTtlS: number;
  /** Every this many ms a process logs its own memory and GC figures (lib/process-figures.ts); 0: never. */
  processFiguresMs: number;
}

type Parser<T> = (raw: string) => T;

interface Variable<K extends keyof Config = keyof Config> {
  key: K;
  env: string;
  doc: string;
  parse: Parser<Config[K]>;
  def: Config[K];
}

function int(min: number, max: number): Parser<number> {
  return (raw) => {
    if (!/^\s*-?\d+\s*$/.test(raw)) throw new Error(`must be an integer, got ${JSON.stringify(raw)}`);
    const n = Number(raw);
    if (n < min || n > max) throw new Error(`must be between ${min} and ${max}, got ${n}`);
    return n;
  };
}

function oneOf<T extends string>(values: readonly T[]): Parser<T> {
  return (raw) => {
    const v = raw.trim().toLowerCase();
    if (!(values as readonly string[]).includes(v))
      throw new Error(`must be one of ${values.join(', ')}, got ${JSON.stringify(raw)}`);
    return v as T;
  };
}

const bool: Parser<boolean> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new Error(`must be true or false, got ${JSON.stringify(raw)}`);
};

const hostPort: Parser<string> = (raw) => {
  const v = raw.trim();
  const m = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(v);
  if (m === null || Number(m[2]) > 65535)
    throw new Error(`must be host:port such as 127.0.0.1:15051, got ${JSON.stringify(raw)}`);
  return v;
};

/** A bus service name: printable ASCII, no spaces, at most 64 characters. */
const serviceName: Parser<string> = (raw) => {
  const v = raw.trim();
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(v))
    throw new Error(
      `must be a bus service name of 1-64 letters, digits, "_", ".", ":" or "-", got ${JSON.stringify(raw)}`,
    );
  return v;
};

function url(schemes: readonly string[]): Parser<string> {
  return (raw) => {
    const v = raw.trim();
    let parsed: URL;
    try {
      parsed = new URL(v);
    } catch {
      throw new Error(`must be a URL such as ${schemes[0]}://127.0.0.1/, got ${JSON.stringify(raw)}`);
    }
    if (!schemes.includes(parsed.protocol.slice(0, -1)))
      throw new Error(
        `must start with ${schemes.map((x) => `${x}://`).join(' or ')}, got ${JSON.stringify(parsed.protocol)}`,
      );
    return v;
  };
}

const keyPrefix: Parser<string> = (raw) => {
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(raw))
    throw new Error(`must be 1 to 64 characters from letters, digits and _ . : -, got ${JSON.stringify(raw)}`);
  return raw;
};

/** One host:port, or several IPv4 ones separated by commas (several instances, tried in turn). */
const hostPorts: Parser<string> = (raw) => {
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.length === 1) return hostPort(raw);
  for (const part of parts) {
    if (!/^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$/.test(part))
      throw new Error(
        `must list IPv4 host:port entries, such as 10.0.0.1:15051,10.0.0.2:15051; got ${JSON.stringify(part)}`,
      );
  }
  return parts.join(',');
};

const endpoint: Parser<string> = (raw) => {
  const v = raw.trim();
  if (!/^(tcp:\/\/[^\s:,]+:(\d+|\*)|ipc:\/\/[^\s,]+)$/.test(v)) {
    throw new Error(
      `must be a ZeroMQ endpoint such as tcp://127.0.0.1:5555 or ipc:///path/to/socket, got ${JSON.stringify(raw)}`,
    );
  }
  return v;
};

/** One broker endpoint, or several comma-separated (each a broker of its own: README "Several brokers"). */
const endpoints: Parser<string> = (raw) => {
  const list = raw.split(',').map((e) => e.trim());
  if (list.length === 1) return endpoint(raw);
  for (const e of list)
    if (e === '' || !/^(tcp:\/\/[^\s:,]+:[1-9]\d*|ipc:\/\/[^\s,]+)$/.test(e))
      throw new Error(
        `must list ZeroMQ endpoints with fixed ports, such as tcp://10.0.0.1:5555,tcp://10.0.0.2:5555; got ${JSON.stringify(e)}`,
      );
  if (new Set(list).size !== list.length) throw new Error(`names a broker twice: ${JSON.stringify(raw)}`);
  return list.join(',');
};

/** A bus endpoint, or empty. */
const optionalEndpoint: Parser<string> = (raw) => (raw.trim() === '' ? '' : endpoint(raw));

const absolutePath: Parser<string> = (raw) => {
  const v = raw.trim();
  if (!v.startsWith('/') || v.includes('\0'))
    throw new Error(`must be an absolute path such as /var/lib/agora, got ${JSON.stringify(raw)}`);
  return v;
};

/** A DNS domain such as nodes.example.com: lower-case labels, at most 120 characters (hosts go below it). */
const domain: Parser<string> = (raw) => {
  const v = raw.trim().toLowerCase().replace(/\.$/, '');
  const label = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
  if (v.length > 120 || !v.split('.').every((l) => label.test(l)))
    throw new Error(
      `must be a DNS domain of at most 120 characters such as nodes.example.com, got ${JSON.stringify(raw)}`,
    );
  return v;
};

/** A comma-separated list of usernames (each as auth allows them: 1-64 of letters, digits and `_ . @ -`). */
const usernames: Parser<readonly string[]> = (raw) => {
  const list = raw
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  for (const u of list)
    if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(u))
      throw new Error(`must be comma-separated usernames such as alice,bob; got ${JSON.stringify(u)}`);
  return list;
};

/** A file or directory path (relative ones from the working directory). */
const filePath: Parser<string> = (raw) => {
  const v = raw.trim();
  if (v.includes('\0')) throw new Error('must be a path');
  return v;
};

/** `parse`, or the empty string for a blank value (the setting's "none"). */
function orEmpty(parse: Parser<string>): Parser<string> {
  return (raw) => (raw.trim() === '' ? '' : parse(raw));
}

const httpUrl: Parser<string> = (raw) => {
  const v = raw.trim();
  if (!/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(v))
    throw new Error(`must be an http(s) URL such as https://api.example.com/, got ${JSON.stringify(raw)}`);
  return v;
};

/** A secret: 16 to 256 visible ASCII characters; never echoed in the error. */
const token: Parser<string> = (raw) => {
  if (!/^[\x21-\x7e]{16,256}$/.test(raw))
    throw new Error('must be 16 to 256 visible ASCII characters, no spaces (the value is not shown)');
  return raw;
};

const commitHash: Parser<string> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (!/^[0-9a-f]{7,64}$/.test(v))
    throw new Error(`must be a commit hash (7 to 64 hex digits), got ${JSON.stringify(raw)}`);
  return v;
};

/** `*`, or a comma-separated list of origins such as `https://a.example,http://localhost:3000`. */
const origins: Parser<readonly string[]> = (raw) => {
  const list = raw
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  if (list.length === 1 && list[0] === '*') return list;
  for (const o of list) {
    if (!/^https?:\/\/[^\s/?#]+$/.test(o))
      throw new Error(
        `must be * or a comma-separated list of origins such as https://app.example.com, got ${JSON.stringify(o)}`,
      );
  }
  if (list.length === 0) throw new Error('must be * or at least one origin');
  return list;
};

function v<K extends keyof Config>(
  key: K,
  env: string,
  def: Config[K],
  parse: Parser<Config[K]>,
  doc: string,
): Variable<K> {
  return { key, env, def, parse, doc };
}

/** Every configuration variable, in the order the README's table lists them. */
export const VARIABLES: readonly Variable[] = [
  v(
    'busUrl',
    'AGORA_BUS_URL',
    'tcp://127.0.0.1:5555',
    endpoints,
    'ZeroMQ endpoint the broker binds and every process connects to: `tcp://host:port` (`:0` or `:*` picks a free port) or `ipc://path`; several brokers: `tcp://a:5555,tcp://b:5555` (every worker registers with each, clients spread their calls), and each broker then binds its own `AGORA_BROKER_BIND`.',
  ),
  v(
    'httpPort',
    'AGORA_HTTP_PORT',
    8080,
    int(0, 65535),
    'HTTP port of the gateway; when unset, `PORT` is used, then 8080.',
  ),
  v(
    'logLevel',
    'AGORA_LOG_LEVEL',
    'info',
    oneOf(LOG_LEVELS),
    'pino level: fatal, error, warn, info, debug, trace or silent.',
  ),
  v('heartbeatMs', 'AGORA_HEARTBEAT_MS', 2500, int(10, 600_000), 'MDP heartbeat interval, broker and workers.'),
  v('heartbeatLiveness', 'AGORA_HEARTBEAT_LIVENESS', 3, int(1, 100), 'Heartbeats missed before a peer counts as dead.'),
  v(
    'busMaxBodyBytes',
    'AGORA_BUS_MAX_BODY_BYTES',
    1_048_576,
    int(64, 256 * 1_048_576),
    'Largest message body the broker forwards; larger ones are refused.',
  ),
  v(
    'zmtpHandshakeMs',
    'AGORA_ZMTP_HANDSHAKE_MS',
    10_000,
    int(10, 600_000),
    'Time a bus peer has to finish its ZMTP greeting and handshake before its connection is cut (broker, workers and clients).',
  ),
  v(
    'busCurve',
    'AGORA_BUS_CURVE',
    'off',
    oneOf(['on', 'off'] as const),
    'CURVE on the bus (on/off): every connection authenticated and encrypted, the broker admitting only the keys of `AGORA_BUS_ALLOW` (`docs/SECURITY.md`).',
  ),
  v(
    'busServerCert',
    'AGORA_BUS_SERVER_CERT',
    '',
    orEmpty(filePath),
    "The broker's secret certificate file (`NAME.key_secret`, from `agora keys`), with CURVE on.",
  ),
  v(
    'busCert',
    'AGORA_BUS_CERT',
    '',
    orEmpty(filePath),
    "Each other process's own secret certificate file, with CURVE on: its name is the caller workers see.",
  ),
  v(
    'busServerKey',
    'AGORA_BUS_SERVER_KEY',
    '',
    orEmpty(filePath),
    "The broker's public key, with CURVE on: 40 Z85 characters, or its public certificate file (`broker.key`).",
  ),
  v(
    'busAllow',
    'AGORA_BUS_ALLOW',
    '',
    orEmpty(filePath),
    'Directory of the public certificates the broker admits, each granting `serve`, `call` and `act_for_users` in its metadata; read again on SIGHUP.',
  ),
  v(
    'busInsecure',
    'AGORA_BUS_INSECURE',
    false,
    bool,
    'Let the broker listen beyond loopback with CURVE off (true/false); otherwise it refuses to start.',
  ),
  v(
    'brokerQueueMax',
    'AGORA_BROKER_QUEUE_MAX',
    10_000,
    int(0, 10_000_000),
    'Requests waiting per service while all its workers are busy, or while it has none; beyond, callers get AGORA_ERR_BUS_QUEUE_FULL.',
  ),
  v('requestTimeoutMs', 'AGORA_REQUEST_TIMEOUT_MS', 5000, int(1, 3_600_000), 'Default deadline of a bus call.'),
  v(
    'workerConcurrency',
    'AGORA_WORKER_CONCURRENCY',
    32,
    int(1, 1024),
    'Requests one worker process serves at once per service (the slots its worker socket offers the broker).',
  ),
  v(
    'authGrpcUrl',
    'AGORA_AUTH_GRPC_URL',
    '127.0.0.1:15051',
    hostPorts,
    'gRPC address of the auth service (port 0: any free port, for tests); several instances: `ip:port,ip:port`.',
  ),
  v(
    'channelsGrpcUrl',
    'AGORA_CHANNELS_GRPC_URL',
    '127.0.0.1:15052',
    hostPorts,
    'gRPC address of the channels service.',
  ),
  v(
    'messagesGrpcUrl',
    'AGORA_MESSAGES_GRPC_URL',
    '127.0.0.1:15053',
    hostPorts,
    'gRPC address of the messages service.',
  ),
  v('grpcTimeoutMs', 'AGORA_GRPC_TIMEOUT_MS', 2000, int(1, 600_000), 'Deadline of typed gRPC calls between services.'),
  v(
    'grpcBind',
    'AGORA_GRPC_BIND',
    '',
    orEmpty(hostPort),
    'host:port a service binds its gRPC on, instead of its own `AGORA_<NAME>_GRPC_URL` (e.g. `127.0.0.1:$PORT` for several instances on one machine). Empty: that URL.',
  ),
  v(
    'openRegistration',
    'AGORA_OPEN_REGISTRATION',
    true,
    bool,
    'Create an unknown user at its first logon (true/false).',
  ),
  v(
    'sessionIdleS',
    'AGORA_SESSION_IDLE_S',
    1800,
    int(1, 31_536_000),
    'Seconds without use after which a session expires.',
  ),
  v(
    'logonMaxFailures',
    'AGORA_LOGON_MAX_FAILURES',
    5,
    int(1, 1_000_000),
    'Wrong passwords allowed per user, and per client address, within the lockout window.',
  ),
  v(
    'logonLockoutS',
    'AGORA_LOGON_LOCKOUT_S',
    60,
    int(1, 86_400),
    'Window for counting wrong passwords, and how long logons are then refused.',
  ),
  v('messagesRetained', 'AGORA_MESSAGES_RETAINED', 100, int(1, 1_000_000), 'Messages kept per channel (the newest).'),
  v('messageMaxBytes', 'AGORA_MESSAGE_MAX_BYTES', 4096, int(1, 1_048_576), 'Longest message text, in bytes of UTF-8.'),
  v(
    'databaseUrl',
    'AGORA_DATABASE_URL',
    '',
    orEmpty(url(['postgres', 'postgresql'])),
    'PostgreSQL URL (`postgres://user:pass@host:5432/db`); when set, users, channels and messages live there. Empty: in memory.',
  ),
  v('databasePoolMax', 'AGORA_DATABASE_POOL_MAX', 10, int(1, 1000), 'PostgreSQL connections per process.'),
  v(
    'redisUrl',
    'AGORA_REDIS_URL',
    '',
    orEmpty(url(['redis', 'rediss'])),
    'Redis URL (`redis://host:6379/0`); when set, sessions live there. Empty: sessions live in PostgreSQL when it is configured, else in memory.',
  ),
  v(
    'redisPrefix',
    'AGORA_REDIS_PREFIX',
    'agora:',
    keyPrefix,
    'Prefix of every Redis key and pub/sub channel, so several meshes can share one Redis.',
  ),
  v(
    'storeTimeoutMs',
    'AGORA_STORE_TIMEOUT_MS',
    5000,
    int(1, 600_000),
    'Deadline of one PostgreSQL query or Redis command, and of connecting.',
  ),
  v(
    'clientMaxPending',
    'AGORA_CLIENT_MAX_PENDING',
    100_000,
    int(1, 10_000_000),
    'Calls in flight per bus client before new calls are refused.',
  ),
  v('computeGrpcUrl', 'AGORA_COMPUTE_GRPC_URL', '127.0.0.1:15054', hostPort, 'gRPC address of the compute service.'),
  v(
    'computeDriver',
    'AGORA_COMPUTE_DRIVER',
    'driver.local',
    serviceName,
    'Bus service name of the driver compute uses (`driver.local`: the TypeScript driver; `driver.ruby`: the Ruby one).',
  ),
  v(
    'computeMaxNodesPerUser',
    'AGORA_COMPUTE_MAX_NODES_PER_USER',
    10,
    int(0, 100_000),
    'Nodes one user may hold at once.',
  ),
  v(
    'computeSyncMs',
    'AGORA_COMPUTE_SYNC_MS',
    1000,
    int(50, 600_000),
    "How often compute reads the driver's nodes (progress, deaths, reconciliation).",
  ),
  v(
    'driverService',
    'AGORA_DRIVER_SERVICE',
    'driver.local',
    serviceName,
    'Bus service name the TypeScript driver registers.',
  ),
  v('driverGrpcUrl', 'AGORA_DRIVER_GRPC_URL', '127.0.0.1:15055', hostPort, 'gRPC address of the TypeScript driver.'),
  v(
    'driverAllowCommand',
    'AGORA_DRIVER_ALLOW_COMMAND',
    false,
    bool,
    'Allow image `command`: an arbitrary command given at create time (true/false).',
  ),
  v(
    'driverStopGraceMs',
    'AGORA_DRIVER_STOP_GRACE_MS',
    5000,
    int(0, 600_000),
    'Time a node has after SIGTERM before SIGKILL.',
  ),
  v(
    'driverHealthTimeoutMs',
    'AGORA_DRIVER_HEALTH_TIMEOUT_MS',
    10_000,
    int(100, 600_000),
    'Time a starting node has to answer its health check before it is killed and put in ERROR.',
  ),
  v('driverOutputLines', 'AGORA_DRIVER_OUTPUT_LINES', 100, int(1, 10_000), 'Output lines kept per node.'),
  v(
    'driverMaxNodes',
    'AGORA_DRIVER_MAX_NODES',
    100,
    int(1, 100_000),
    'Nodes a driver (TypeScript or Ruby) holds at most, all owners together (each is a process of this machine).',
  ),
  v(
    'driverStateDir',
    'AGORA_DRIVER_STATE_DIR',
    '',
    orEmpty(absolutePath),
    "Absolute path under which a driver keeps its state directory `<service>@<bus host_port>` (node records, output logs), so that a restarted driver adopts its running nodes; empty: `agora-driver-<uid>` in the OS temp dir (`docs/COMPUTE.md`). A compute on the memory backend keeps its nodes' permissions there too, in `compute@<bus host_port>`.",
  ),
  v(
    'driverKeepNodes',
    'AGORA_DRIVER_KEEP_NODES',
    false,
    bool,
    'On SIGTERM a driver leaves its node processes running for its next start to adopt (true), or stops them (false).',
  ),
  v(
    'rubyDriverService',
    'AGORA_RUBY_DRIVER_SERVICE',
    'driver.ruby',
    serviceName,
    'Bus service name the Ruby driver registers; it reads the other `AGORA_DRIVER_*` settings too (`workers/ruby/README.md`).',
  ),
  v(
    'batchMaxRequests',
    'AGORA_BATCH_MAX_REQUESTS',
    25,
    int(1, 1000),
    'Most sub-requests one `POST /v1/batch` may carry.',
  ),
  v(
    'pageMaxRecords',
    'AGORA_PAGE_MAX_RECORDS',
    100,
    int(1, 10_000),
    'Most records one page of a `/v1` list answers; a larger `_limit` is lowered to it.',
  ),
  v(
    'publicUrl',
    'AGORA_PUBLIC_URL',
    '',
    orEmpty(httpUrl),
    "The gateway's URL as clients reach it (hello's `url`); empty: taken from each request's Host.",
  ),
  v(
    'metricsToken',
    'AGORA_METRICS_TOKEN',
    '',
    orEmpty(token),
    '`GET /metrics` then requires `Authorization: Bearer <this token>` (16 to 256 visible ASCII characters); empty: open to anyone who reaches the gateway.',
  ),
  v(
    'sourceUrl',
    'AGORA_SOURCE_URL',
    '',
    orEmpty(httpUrl),
    'URL of the source repository, reported by `/__version__`; empty: none.',
  ),
  v(
    'commit',
    'AGORA_COMMIT',
    '',
    orEmpty(commitHash),
    "Commit reported by `/__version__`; empty: read from the checkout's `.git`.",
  ),
  v(
    'healthTimeoutMs',
    'AGORA_HEALTH_TIMEOUT_MS',
    1000,
    int(1, 60_000),
    'Deadline of each dependency check of `/__heartbeat__`.',
  ),
  v(
    'corsOrigins',
    'AGORA_CORS_ORIGINS',
    ['*'],
    origins,
    'Origins allowed by CORS: `*`, or a comma-separated list such as `https://app.example.com`.',
  ),
  v(
    'rateLimitMax',
    'AGORA_RATE_LIMIT_MAX',
    0,
    int(0, 100_000_000),
    'Requests allowed per client address per window, then 429; 0: no limit.',
  ),
  v('rateLimitWindowMs', 'AGORA_RATE_LIMIT_WINDOW_MS', 60_000, int(1, 86_400_000), "The rate limit's window."),
  v(
    'maxEventLoopDelayMs',
    'AGORA_MAX_EVENT_LOOP_DELAY_MS',
    1000,
    int(0, 600_000),
    'Gateway event-loop delay beyond which requests get 503 (load shedding); 0: not checked.',
  ),
  v(
    'maxHeapUsedBytes',
    'AGORA_MAX_HEAP_USED_BYTES',
    0,
    int(0, Number.MAX_SAFE_INTEGER),
    'Gateway heap use beyond which requests get 503; 0: not checked.',
  ),
  v(
    'maxRssBytes',
    'AGORA_MAX_RSS_BYTES',
    0,
    int(0, Number.MAX_SAFE_INTEGER),
    'Gateway resident memory beyond which requests get 503; 0: not checked.',
  ),
  v(
    'retryAfterS',
    'AGORA_RETRY_AFTER_S',
    10,
    int(1, 86_400),
    '`Retry-After` seconds of a 503 that names none of its own.',
  ),
  v(
    'backoffS',
    'AGORA_BACKOFF_S',
    0,
    int(0, 86_400),
    'When above 0, every response carries `Backoff: <seconds>`, asking clients to slow down.',
  ),
  v(
    'proxyPort',
    'AGORA_PROXY_PORT',
    8000,
    int(0, 65535),
    'HTTP port of the proxy (`services/proxy`), where every node has its static URL (0: any free port, for tests; the URLs then name no usable port).',
  ),
  v(
    'proxyDomain',
    'AGORA_PROXY_DOMAIN',
    'nodes.localhost',
    domain,
    'Domain of the static node URLs: node `web` of user `ann` is `http://web.ann.<domain>:<AGORA_PROXY_PORT>/` (`docs/ROUTING.md`).',
  ),
  v(
    'proxyConnectTimeoutMs',
    'AGORA_PROXY_CONNECT_TIMEOUT_MS',
    5000,
    int(1, 600_000),
    'Time the proxy has to connect to a target before it answers 504, unless the route sets its own.',
  ),
  v(
    'proxyReadTimeoutMs',
    'AGORA_PROXY_READ_TIMEOUT_MS',
    60_000,
    int(1, 3_600_000),
    'Time a target may stay silent while answering (before its headers: 504; later: the answer is cut), unless the route sets its own.',
  ),
  v(
    'proxyWakeTimeoutMs',
    'AGORA_PROXY_WAKE_TIMEOUT_MS',
    30_000,
    int(1, 600_000),
    'Time a request to a stopped node is held while the node wakes, before it gets 503.',
  ),
  v(
    'proxyWakeMaxWaiting',
    'AGORA_PROXY_WAKE_MAX_WAITING',
    10_000,
    int(0, 1_000_000),
    'Requests the proxy holds at once waiting for nodes to wake; beyond, 503 at once.',
  ),
  v(
    'proxyTrustForwarded',
    'AGORA_PROXY_TRUST_FORWARDED',
    false,
    bool,
    "The proxy keeps the client's `X-Forwarded-Proto` and `-Host` and appends to its `X-Forwarded-For` (true: behind a trusted front such as a TLS terminator), or replaces them (false).",
  ),
  v(
    'proxyRoutesFile',
    'AGORA_PROXY_ROUTES_FILE',
    '',
    orEmpty(absolutePath),
    'Absolute path of a JSON file holding a fixed route table (an array of routes, `services/proxy/routes.ts`): the proxy then serves it alone, following no Routes service and waking no node (for benchmarks and tests). Empty: the proxy follows Routes.',
  ),
  v(
    'routesGrpcUrl',
    'AGORA_ROUTES_GRPC_URL',
    '127.0.0.1:15056',
    hostPorts,
    'gRPC address of the routes service (`docs/ROUTING.md`); several instances: `ip:port,ip:port`.',
  ),
  v(
    'wakeGrpcUrl',
    'AGORA_WAKE_GRPC_URL',
    '127.0.0.1:15057',
    hostPort,
    'gRPC address of the wake service (`services/wake`), which starts stopped nodes for the proxies; the proxies call it on the bus.',
  ),
  v(
    'nodeIdleS',
    'AGORA_NODE_IDLE_S',
    0,
    int(0, 31_536_000),
    'Seconds a node may serve no request through the proxy before the wake service stops it (its next request wakes it); 0: never.',
  ),
  v(
    'admins',
    'AGORA_ADMINS',
    [],
    usernames,
    'Comma-separated usernames that may route a host to any http:// or https:// URL; others route only to their own nodes. Empty: nobody.',
  ),
  v(
    'grpcTlsCert',
    'AGORA_GRPC_TLS_CERT',
    '',
    orEmpty(absolutePath),
    'PEM certificate of this process for gRPC between services (its server certificate, and its client certificate when it dials); with `AGORA_GRPC_TLS_KEY` and `AGORA_GRPC_TLS_CA`, gRPC is mutual TLS. Empty: plaintext.',
  ),
  v('grpcTlsKey', 'AGORA_GRPC_TLS_KEY', '', orEmpty(absolutePath), 'PEM private key of `AGORA_GRPC_TLS_CERT`.'),
  v(
    'grpcTlsCa',
    'AGORA_GRPC_TLS_CA',
    '',
    orEmpty(absolutePath),
    'PEM CA certificate(s) that every peer certificate must chain to, client and server alike.',
  ),
  v(
    'grpcInsecure',
    'AGORA_GRPC_INSECURE',
    false,
    bool,
    'Allow plaintext gRPC bound on an address other than loopback (true/false); otherwise such a service exits 78 unless the three `AGORA_GRPC_TLS_*` are set.',
  ),
  v(
    'busWaitForWorkerMs',
    'AGORA_BUS_WAIT_FOR_WORKER_MS',
    5000,
    int(0, 3_600_000),
    'Time a bus request waits for a worker of a service that has none, when it names no deadline of its own (a call with a deadline waits until then); then AGORA_ERR_BUS_NO_SERVICE. 0: no wait.',
  ),
  v(
    'httpRequestTimeoutMs',
    'AGORA_HTTP_REQUEST_TIMEOUT_MS',
    30_000,
    int(1, 3_600_000),
    'Time a client has to send a whole HTTP request to the gateway, headers and body; then 408 and the connection is closed.',
  ),
  v(
    'authPolicies',
    'AGORA_AUTH_POLICIES',
    ['session', 'basic'],
    authPolicies,
    'How `/v1` requests authenticate, comma-separated: `session` (`Authorization: Bearer <session key>`), `basic` (`Authorization: Basic`, the users of `POST /v1/sessions`, same logon throttling).',
  ),
  v(
    'authBasicCacheS',
    'AGORA_AUTH_BASIC_CACHE_S',
    60,
    int(0, 3600),
    'Seconds the gateway keeps a verified Basic credential (by a hash of the header) before verifying it again; 0: every request is verified (a logon each).',
  ),
  v(
    'eos',
    'AGORA_EOS',
    '',
    orEmpty(eosDate),
    'End of service of the API, a date (`2030-01-01`) or UTC date-time: before it every response carries `Alert` (soft-eol), after it the API answers 410 (hard-eol; the ops endpoints still answer); empty: none.',
  ),
  v('eosMessage', 'AGORA_EOS_MESSAGE', '', (raw) => raw.trim(), 'The `message` of the end-of-service `Alert`.'),
  v(
    'eosUrl',
    'AGORA_EOS_URL',
    '',
    orEmpty(httpUrl),
    "The `url` of the end-of-service `Alert`; empty: the hello's `project_docs`.",
  ),
  v(
    'sseHeartbeatMs',
    'AGORA_SSE_HEARTBEAT_MS',
    15_000,
    int(100, 300_000),
    'How often the gateway sends a heartbeat comment on each open `/v1/channels/{name}/messages/stream` and checks its session again (a logoff ends the stream within this time).',
  ),
  v(
    'brokerBind',
    'AGORA_BROKER_BIND',
    '',
    optionalEndpoint,
    'The endpoint a broker binds, when `AGORA_BUS_URL` lists several brokers (each broker process binds exactly one); empty: `AGORA_BUS_URL`, which must then name one.',
  ),
  v(
    'logFormat',
    'AGORA_LOG_FORMAT',
    'auto',
    oneOf(LOG_FORMATS),
    '`agora start` prints the JSON log lines of its processes as they are (`json`), in a readable form (`pretty`: time, level, message, the fields that matter), or pretty on a terminal only (`auto`).',
  ),
  v(
    'idempotencyTtlS',
    'AGORA_IDEMPOTENCY_TTL_S',
    86_400,
    int(1, 31_536_000),
    'Seconds the answer of a `/v1` POST sent with an `Idempotency-Key` is kept: the same request with the same key within this time gets that answer again instead of running again (`docs/API-V1.md` "Idempotency-Key"). Kept in Redis, else PostgreSQL, else the gateway\'s memory. Messages keeps a post\'s key as long, with the message (PostgreSQL, else its memory), so that a post sent again after an unknown outcome is stored once.',
  ),
  v(
    'tombstoneTtlS',
    'AGORA_TOMBSTONE_TTL_S',
    86_400,
    int(0, 31_536_000),
    'Seconds a deleted node stays in `GET /v1/nodes?_since=…`, and a deleted route in `GET /v1/routes?_since=…`, as a tombstone `{id, last_modified, deleted: true}` (`docs/API-V1.md`); 0: none is kept. Read by compute and by Routes.',
  ),
  v(
    'processFiguresMs',
    'AGORA_PROCESS_FIGURES_MS',
    0,
    int(0, 3_600_000),
    'Every this many ms each process logs a `process figures` line: resident memory, heap in use and total, external and ArrayBuffer memory, garbage collections (count, pauses), active handles and event-loop delay (`lib/process-figures.ts`; `npm run soak` reads them); 0: never.',
  ),
];

/** The environment variable that sets `key`. */
export function variableOf(key: keyof Config): string {
  const variable = VARIABLES.find((x) => x.key === key);
  if (variable === undefined) throw new Error(`no variable sets ${key}`);
  return variable.env;
}

/** A fresh object holding every default. */
export function defaultConfig(): Config {
  const out: Partial<Record<keyof Config, unknown>> = {};
  for (const variable of VARIABLES) out[variable.key] = variable.def;
  return out as Config;
}

/**
 * Parse and validate `env` (default `process.env`, with an optional `.env` file under it).
 * Throws one AGORA_ERR_CONFIG_INVALID naming every bad variable; the result is frozen.
 */
export function loadConfig(env: NodeJS.ProcessEnv = withDotEnv(process.env)): Readonly<Config> {
  const config = defaultConfig() as unknown as Record<string, unknown>;
  const problems: string[] = [];
  const source = { ...env };
  // Empty means unset, for AGORA_HTTP_PORT as for every variable: then PORT applies.
  const portFromPORT = (source.AGORA_HTTP_PORT ?? '') === '' && (source.PORT ?? '') !== '';
  if (portFromPORT) source.AGORA_HTTP_PORT = source.PORT;
  for (const variable of VARIABLES) {
    const raw = source[variable.env];
    if (raw === undefined || raw === '') continue;
    try {
      config[variable.key] = variable.parse(raw);
    } catch (e) {
      const name = variable.env === 'AGORA_HTTP_PORT' && portFromPORT ? 'PORT' : variable.env;
      problems.push(`${name} ${(e as Error).message}`);
    }
  }
  if (problems.length > 0)
    throw new AgoraError('AGORA_ERR_CONFIG_INVALID', [problems.join('; ')], { data: { problems } });
  return Object.freeze(config) as unknown as Readonly<Config>;
}

/** `env` with the variables of `./.env` added beneath it (the environment wins). */
export function withDotEnv(env: NodeJS.ProcessEnv, file = '.env'): NodeJS.ProcessEnv {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return env;
  }
  const out: NodeJS.ProcessEnv = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (m === null) continue;
    out[m[1]] = m[2].replace(/^(['"])(.*)\1$/, '$2');
  }
  return { ...out, ...env };
}

/** A gRPC target for a configured address: a comma list becomes grpc-js's `ipv4:` list. */
export function grpcTarget(address: string): string {
  return address.includes(',') ? `ipv4:${address}` : address;
}

/**
 * Channel options for that target:
 * - a service coming back is dialled again within 2 s: grpc-js's own reconnect backoff grows
 *   to 120 s, so a caller would otherwise fail for minutes after a restart of its callee;
 * - with several instances, calls and streams go round the ready ones (round_robin), so that
 *   no instance is the only one dialled, and a stream an instance refuses is retried on the next.
 */
export function grpcChannelOptions(address: string): Record<string, string | number> {
  const backoff = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 2000 };
  if (!address.includes(',')) return backoff;
  return { ...backoff, 'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }) };
}

/**
 * The one endpoint a broker binds: AGORA_BROKER_BIND, else AGORA_BUS_URL when it names one broker.
 * Throws AGORA_ERR_CONFIG_INVALID when it lists several and AGORA_BROKER_BIND is empty.
 */
export function brokerEndpoint(config: Pick<Config, 'busUrl' | 'brokerBind'>): string {
  if (config.brokerBind !== '') return bindable(config.brokerBind);
  if (!config.busUrl.includes(',')) return bindable(config.busUrl);
  const problem =
    `AGORA_BUS_URL lists several brokers (${config.busUrl}) and a broker binds one: set AGORA_BROKER_BIND ` +
    'to the endpoint of this one (README "Several brokers")';
  throw new AgoraError('AGORA_ERR_CONFIG_INVALID', [problem], { data: { problems: [problem] } });
}

/** A bus endpoint that ZeroMQ can bind: `:0` means any free port, as `:*` does. */
export function bindable(endpointUrl: string): string {
  return endpointUrl.replace(/:0$/, ':*');
}

/** A comma-separated list of AUTH_POLICIES, each at most once, at least one. */
function authPolicies(raw: string): readonly AuthPolicy[] {
  const list = raw.split(',').map((p) => p.trim().toLowerCase());
  for (const p of list)
    if (!(AUTH_POLICIES as readonly string[]).includes(p))
      throw new Error(`must be a comma-separated list of ${AUTH_POLICIES.join(', ')}, got ${JSON.stringify(raw)}`);
  if (new Set(list).size !== list.length) throw new Error(`names a policy twice: ${JSON.stringify(raw)}`);
  return list as AuthPolicy[];
}

/** A date `YYYY-MM-DD` (midnight UTC) or an ISO date-time with its zone, as written. */
function eosDate(raw: string): string {
  const v = raw.trim();
  const iso = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(v);
  if (!iso || Number.isNaN(Date.parse(v)))
    throw new Error(`must be a date such as 2030-01-01 or 2030-01-01T12:00:00Z, got ${JSON.stringify(raw)}`);
  return v;
}
