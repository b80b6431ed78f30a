/**
 * A message's shape, checked and filled on the decoded object (docs/ARCHITECTURE.md "One contract, two
 * transports"). A bus call arrives decoded from msgpack; giving its handler what gRPC would give it used to
 * mean encoding it to protobuf and decoding it again, and the same for the reply. A shape does the same
 * work in one pass over the object: proto3 defaults filled, unknown fields dropped, keys in the order
 * protobuf.js's `toObject` writes them (repeated fields first, then the others, each by field number). An
 * object already in that form (no repeated field) is answered itself, not copied.
 *
 * It answers only where the result is provably the codec's: every value already of its field's type and
 * range, strings without lone surrogates (a pair, as an emoji's, is fine), no oneof, enum, bytes or map.
 * Anything else answers UNSURE, and the caller takes the codec round trip, whose coercions and errors stay
 * the reference.
 */

/** What a shape answers when only the codec round trip can say what the value becomes. */
export const UNSURE: unique symbol = Symbol('unsure');

/** Fill a message's defaults and drop its unknown fields, or answer UNSURE. */
export type Shape = (value: unknown) => unknown;

/** The parts of a DescriptorProto (as @grpc/proto-loader gives it) that a shape reads. */
export interface MessageDescriptor {
  name?: string;
  field?: ReadonlyArray<{ name: string; number: number; label?: string; type: string; typeName?: string }>;
  oneofDecl?: readonly unknown[];
}

const descriptors = new Map<string, MessageDescriptor | null>();

/**
 * Make the message types of a loaded package definition known by their short name (the `typeName` of a
 * field that refers to them); a name two packages share is known as ambiguous, and never shaped.
 */
export function registerMessageTypes(definition: Record<string, unknown>): void {
  for (const [fullName, entry] of Object.entries(definition)) {
    const type = (entry as { type?: MessageDescriptor } | undefined)?.type;
    if (type === undefined || !Array.isArray(type.field)) continue;
    const short = fullName.slice(fullName.lastIndexOf('.') + 1);
    const known = descriptors.get(short);
    descriptors.set(short, known === undefined || known === type ? type : null);
  }
}

const SURROGATE = /[\uD800-\uDFFF]/;
/** A surrogate that is not half of a pair: UTF-8 cannot carry it, and the codec replaces it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;

/** Check one scalar of a protobuf type; its decoded value, or UNSURE. */
function scalar(type: string, v: unknown): unknown {
  switch (type) {
    case 'TYPE_STRING':
      return typeof v === 'string' && !(SURROGATE.test(v) && LONE_SURROGATE.test(v)) ? v : UNSURE;
    case 'TYPE_BOOL':
      return typeof v === 'boolean' ? v : UNSURE;
    case 'TYPE_DOUBLE':
      return typeof v === 'number' ? v : UNSURE;
    case 'TYPE_FLOAT':
      return typeof v === 'number' && Math.fround(v) === v ? v : UNSURE;
    case 'TYPE_UINT32':
    case 'TYPE_FIXED32':
      return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= UINT32_MAX ? v + 0 : UNSURE;
    case 'TYPE_INT32':
    case 'TYPE_SINT32':
    case 'TYPE_SFIXED32':
      return typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX ? v + 0 : UNSURE;
    case 'TYPE_UINT64':
    case 'TYPE_FIXED64':
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v + 0 : UNSURE;
    case 'TYPE_INT64':
    case 'TYPE_SINT64':
    case 'TYPE_SFIXED64':
      return typeof v === 'number' && Number.isSafeInteger(v) ? v + 0 : UNSURE;
    default:
      return UNSURE;
  }
}

const SCALAR_DEFAULTS: Record<string, unknown> = {
  TYPE_STRING: '',
  TYPE_BOOL: false,
  TYPE_DOUBLE: 0,
  TYPE_FLOAT: 0,
  TYPE_UINT32: 0,
  TYPE_FIXED32: 0,
  TYPE_INT32: 0,
  TYPE_SINT32: 0,
  TYPE_SFIXED32: 0,
  TYPE_UINT64: 0,
  TYPE_FIXED64: 0,
  TYPE_INT64: 0,
  TYPE_SINT64: 0,
  TYPE_SFIXED64: 0,
};

interface FieldPlan {
  name: string;
  number: number;
  repeated: boolean;
  /** The default of a singular field (null for a message). */
  initial: unknown;
  /** One value (an item, for a repeated field) to its decoded form, or UNSURE. */
  convert: (v: unknown) => unknown;
}

const compiled = new Map<MessageDescriptor, Shape | undefined>();

/** The shape of a message type, or undefined where only the codec can do the work. */
export function shapeOf(type: MessageDescriptor): Shape | undefined {
  if (compiled.has(type)) return compiled.get(type);
  const holder: { plans?: FieldPlan[] } = {};
  const shape: Shape = (value) => {
    const plans = holder.plans;
    if (plans === undefined) return UNSURE;
    return settled(plans, value) ? value : apply(plans, value);
  };
  compiled.set(type, shape); // a type that contains itself finds its own shape
  holder.plans = plan(type);
  if (holder.plans === undefined) compiled.set(type, undefined);
  return holder.plans === undefined ? undefined : shape;
}

function plan(type: MessageDescriptor): FieldPlan[] | undefined {
  if ((type.oneofDecl?.length ?? 0) > 0 || type.field === undefined) return undefined;
  const plans: FieldPlan[] = [];
  for (const field of type.field) {
    const repeated = field.label === 'LABEL_REPEATED';
    if (field.type === 'TYPE_MESSAGE') {
      const nested = descriptors.get(field.typeName ?? '');
      const inner = nested === undefined || nested === null ? undefined : shapeOf(nested);
      if (inner === undefined) return undefined;
      const convert = (v: unknown): unknown => (v !== null && typeof v === 'object' ? inner(v) : UNSURE);
      plans.push({ name: field.name, number: field.number, repeated, initial: null, convert });
    } else if (field.type in SCALAR_DEFAULTS) {
      const kind = field.type;
      const convert = (v: unknown): unknown => scalar(kind, v);
      const initial = SCALAR_DEFAULTS[kind];
      plans.push({ name: field.name, number: field.number, repeated, initial, convert });
    } else {
      return undefined;
    }
  }
  plans.sort((a, b) => a.number - b.number);
  return [...plans.filter((p) => p.repeated), ...plans.filter((p) => !p.repeated)];
}

function apply(plans: readonly FieldPlan[], value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return UNSURE;
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const p of plans) {
    const v = source[p.name];
    if (v === undefined || v === null) {
      out[p.name] = p.repeated ? [] : p.initial;
    } else if (p.repeated) {
      if (!Array.isArray(v)) return UNSURE;
      const items: unknown[] = new Array(v.length);
      for (let i = 0; i < v.length; i++) {
        const item = p.convert(v[i]);
        if (item === UNSURE) return UNSURE;
        items[i] = item;
      }
      out[p.name] = items;
    } else {
      const one = p.convert(v);
      if (one === UNSURE) return UNSURE;
      out[p.name] = one;
    }
  }
  return out;
}

/**
 * Whether `value` is already what the codec answers, so that it is answered itself rather than copied (a
 * reply of many messages, each made by its handler in field order, costs no second object per message): a
 * plain object whose enumerable keys are the plan's fields, all present and in the plan's order, each value
 * already its decoded form (a string, a boolean, a number the codec gives back unchanged, a message that is
 * itself settled). A message with a repeated field never is: its arrays are always new ones (an array may
 * carry properties of its own that the codec would not). Symbol keys are not looked at: neither msgpack
 * nor the codec writes them.
 */
function settled(plans: readonly FieldPlan[], value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return false;
  const source = value as Record<string, unknown>;
  let i = 0;
  for (const key in source) {
    const p = plans[i];
    if (p === undefined || p.repeated || key !== p.name) return false;
    const v = source[key];
    if (v === undefined || v === null || !Object.is(p.convert(v), v)) return false;
    i++;
  }
  return i === plans.length;
}
