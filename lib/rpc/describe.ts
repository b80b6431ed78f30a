/**
 * Public methods: the ones a service lets the gateway call on behalf of a signed-in user
 * (`POST /v1/rpc/{service}/{method}`, docs/API-V1.md "Calling a public method"). A worker in
 * any language declares them by answering the reserved method DESCRIBE_METHOD with a map
 * `{"methods": {name: {params?, result?, summary?}}}`, each schema a JSON Schema (draft-07) of
 * the method's one param and of its result (docs/PROTOCOL.md §14). A worker that does not
 * know the method answers AGORA_ERR_RPC_NO_METHOD: it has no public method.
 */
import { AgoraError } from '../errors';
import type { Handler } from '../bus/worker';

/** The reserved method every worker may answer with its public methods. */
export const DESCRIBE_METHOD = '__describe__';

/** A JSON Schema (draft-07), as a plain object (or `true`/`false`). */
export type JsonSchema = { [key: string]: unknown } | boolean;

/** What a service says of one public method. */
export interface PublicMethod {
  /** The method's one param, which is the HTTP body; absent: any JSON value. */
  params?: JsonSchema;
  /** Its result, the `data` of the HTTP answer; absent: any JSON value. */
  result?: JsonSchema;
  /** One line for the OpenAPI document. */
  summary?: string;
}

export type PublicMethods = Readonly<Record<string, PublicMethod>>;

/** The answer of DESCRIBE_METHOD. */
export interface Description {
  methods: Record<string, PublicMethod>;
}

/** A method name the gateway takes from a description (a URL path segment; `__` names are reserved). */
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

/**
 * The DESCRIBE_METHOD handler of a service whose public methods are `publics`, each of which
 * must be one of `served` (the bus methods it answers).
 */
export function describeHandler(publics: PublicMethods, served: readonly string[]): Handler {
  for (const name of Object.keys(publics)) {
    if (!served.includes(name)) throw new Error(`public method ${name} is not served on the bus`);
    if (!NAME.test(name) || name.startsWith('__'))
      throw new Error(`public method name ${JSON.stringify(name)} is not a plain name`);
  }
  const description: Description = { methods: { ...publics } };
  return () => description;
}

/**
 * The public methods in a DESCRIBE_METHOD answer, as the gateway reads it: entries that are
 * not maps, names that are not plain, and schemas that are neither maps nor booleans are left
 * out (a worker's mistake hides its method rather than failing every call).
 */
export function readDescription(reply: unknown): Map<string, PublicMethod> {
  const out = new Map<string, PublicMethod>();
  const methods = isMap(reply) ? reply.methods : undefined;
  if (!isMap(methods)) return out;
  for (const [name, spec] of Object.entries(methods)) {
    if (!NAME.test(name) || name.startsWith('__') || !isMap(spec)) continue;
    const { params, result } = spec;
    if (!isSchemaOrNone(params) || !isSchemaOrNone(result)) continue;
    const method: PublicMethod = {};
    if (isSchema(params)) method.params = params;
    if (isSchema(result)) method.result = result;
    if (typeof spec.summary === 'string') method.summary = spec.summary;
    out.set(name, method);
  }
  return out;
}

/** Whether a DESCRIBE_METHOD call's failure means "no public method" rather than "cannot tell now". */
export function meansNoPublicMethod(err: unknown): boolean {
  return (
    err instanceof AgoraError && (err.code === 'AGORA_ERR_RPC_NO_METHOD' || err.code === 'AGORA_ERR_RPC_BAD_PARAMS')
  );
}

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function isSchema(v: unknown): v is JsonSchema {
  return typeof v === 'boolean' || isMap(v);
}

/** A schema, or none (absent, or nil from a language that sends its None). */
function isSchemaOrNone(v: unknown): boolean {
  return v === undefined || v === null || isSchema(v);
}
