/**
 * The public methods of the services on the bus, as the bridge (v1/rpc.ts) and the OpenAPI
 * document see them: each service's answer to DESCRIBE_METHOD (lib/rpc/describe.ts), its
 * params schema compiled by ajv, kept for CACHE_MS so that a call through the bridge costs one
 * describe per service every few seconds, not one per request.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import type { BusCaller } from '../../lib/bus/client';
import { AgoraError } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import { DESCRIBE_METHOD, meansNoPublicMethod, readDescription, type PublicMethod } from '../../lib/rpc/describe';
import type { BrokerInspector } from '../ops/heartbeat';

/** How long a service's description is kept. */
export const CACHE_MS = 3000;

/** Longest a describe call may take, whatever the request's deadline. */
const DESCRIBE_TIMEOUT_MS = 2000;

/** Services whose answers are kept at most (names asked for that have no worker count too). */
const ENTRIES_MAX = 10_000;

/** Validators kept by schema text; beyond this many, a fresh ajv starts over (bounded memory). */
const VALIDATORS_MAX = 1000;

/** A public method the bridge may call: what the service declared, and its params validator. */
export interface CallableMethod extends PublicMethod {
  validate: ValidateFunction;
}

export type ServiceMethods = ReadonlyMap<string, CallableMethod>;

export interface PublicMethodsOptions {
  bus: BusCaller;
  /** `mmi.service` and `mmi.services`: without it, every service is asked directly. */
  broker?: BrokerInspector;
  log: Logger;
  /** Wall clock (tests). */
  now?: () => number;
}

interface Entry {
  at: number;
  methods: Promise<ServiceMethods>;
}

export class PublicMethodsCatalog {
  private readonly entries = new Map<string, Entry>();
  private ajv = newAjv();
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly now: () => number;

  constructor(private readonly options: PublicMethodsOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * The public methods of `service` (empty when it has no worker, or its worker does not know
   * DESCRIBE_METHOD). Rejects when the bus cannot tell now (a timeout, the broker gone).
   */
  methods(service: string, deadline: number, reqId?: string): Promise<ServiceMethods> {
    const at = this.now();
    const cached = this.entries.get(service);
    if (cached !== undefined && at - cached.at < CACHE_MS) return cached.methods;
    const methods = this.fetch(service, Math.min(deadline, at + DESCRIBE_TIMEOUT_MS), reqId);
    const entry = { at, methods };
    this.entries.set(service, entry);
    // A failure is not kept: the next request asks again.
    methods.catch(() => {
      if (this.entries.get(service) === entry) this.entries.delete(service);
    });
    if (this.entries.size > ENTRIES_MAX) this.prune(at);
    return methods;
  }

  /** Every public method of every service the broker knows now, by service name (none without a broker). */
  async all(deadline: number): Promise<Map<string, ServiceMethods>> {
    const out = new Map<string, ServiceMethods>();
    if (this.options.broker === undefined) return out;
    const services = await this.options.broker.services({ deadline });
    const found = await Promise.all(
      services
        .filter((s) => s.workers > 0)
        .map(async (s) => {
          try {
            return [s.name, await this.methods(s.name, deadline)] as const;
          } catch (err) {
            this.options.log.warn({ err, service: s.name }, 'could not describe a service');
            return [s.name, new Map<string, CallableMethod>()] as const;
          }
        }),
    );
    for (const [name, methods] of found) if (methods.size > 0) out.set(name, methods);
    return out;
  }

  private async fetch(service: string, deadline: number, reqId?: string): Promise<ServiceMethods> {
    if (service.startsWith('mmi.')) return new Map();
    const { bus, broker } = this.options;
    if (broker !== undefined && !(await broker.hasService(service, { deadline }))) return new Map();
    let reply: unknown;
    try {
      reply = await bus.call(service, DESCRIBE_METHOD, [], { deadline, reqId, idempotent: true });
    } catch (err) {
      if (meansNoPublicMethod(err) || (err instanceof AgoraError && err.code === 'AGORA_ERR_BUS_NO_SERVICE'))
        return new Map();
      throw err;
    }
    const out = new Map<string, CallableMethod>();
    for (const [name, method] of readDescription(reply)) {
      const validate = this.validator(service, name, method);
      if (validate !== undefined) out.set(name, { ...method, validate });
    }
    return out;
  }

  /** The params validator of a method; undefined (and a warning) when its schema does not compile. */
  private validator(service: string, name: string, method: PublicMethod): ValidateFunction | undefined {
    const schema = method.params ?? {};
    const text = JSON.stringify(schema);
    let validate = this.validators.get(text);
    if (validate !== undefined) return validate;
    if (this.validators.size >= VALIDATORS_MAX) {
      this.validators.clear();
      this.ajv = newAjv();
    }
    try {
      validate = this.ajv.compile(schema);
    } catch (err) {
      this.options.log.warn(
        { err, service, method: name },
        'public method left out: its params schema does not compile',
      );
      return undefined;
    }
    this.validators.set(text, validate);
    return validate;
  }

  /** Drop what has expired; if that is not enough (many names asked at once), everything. */
  private prune(at: number): void {
    for (const [service, entry] of this.entries) if (at - entry.at >= CACHE_MS) this.entries.delete(service);
    if (this.entries.size > ENTRIES_MAX) this.entries.clear();
  }
}

/** As the /v1 bodies are checked: no coercion, every fault at once, OpenAPI keywords allowed. */
function newAjv(): Ajv {
  return new Ajv({ coerceTypes: false, useDefaults: false, allErrors: true, strict: false });
}
