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

type Convert = (v: unknown) => unknown;

const isString: Convert = (v) => (typeof v === 'string' && !(SURROGATE.test(v) && LONE_SURROGATE.test(v)) ? v : UNSURE);
const isUint32: Convert = (v) =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= UINT32_MAX ? v + 0 : UNSURE;
const isInt32: Convert = (v) =>
  typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX ? v + 0 : UNSURE;
const isUint64: Convert = (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v + 0 : UNSURE);
const isInt64: Convert = (v) => (typeof v === 'number' && Number.isSafeInteger(v) ? v + 0 : UNSURE);

/**
 * Each scalar protobuf type: its check (the decoded value, or UNSURE; one function per type, so that a shape's
 * call of it is always the same function) and its proto3 default.
 */
const SCALARS: Record<string, { convert: Convert; initial: unknown }> = {
  TYPE_STRING: { convert: isString, initial: '' },
  TYPE_BOOL: { convert: (v) => (typeof v === 'boolean' ? v : UNSURE), initial: false },
  TYPE_DOUBLE: { convert: (v) => (typeof v === 'number' ? v : UNSURE), initial: 0 },
  TYPE_FLOAT: { convert: (v) => (typeof v === 'number' && Math.fround(v) === v ? v : UNSURE), initial: 0 },
  TYPE_UINT32: { convert: isUint32, initial: 0 },
  TYPE_FIXED32: { convert: isUint32, initial: 0 },
  TYPE_INT32: { convert: isInt32, initial: 0 },
  TYPE_SINT32: { convert: isInt32, initial: 0 },
  TYPE_SFIXED32: { convert: isInt32, initial: 0 },
  TYPE_UINT64: { convert: isUint64, initial: 0 },
  TYPE_FIXED64: { convert: isUint64, initial: 0 },
  TYPE_INT64: { convert: isInt64, initial: 0 },
  TYPE_SINT64: { convert: isInt64, initial: 0 },
  TYPE_SFIXED64: { convert: isInt64, initial: 0 },
};

interface FieldPlan {
  name: string;
  number: number;
  repeated: boolean;
  /** The default of a singular field (null for a message). */
  initial: unknown;
  /** One value (an item, for a repeated field) to its decoded form, or UNSURE. */
  convert: Convert;
}

const compiled = new Map<MessageDescriptor, Shape | undefined>();
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The shape of a message type, or undefined where only the codec can do the work. */
export function shapeOf(type: MessageDescriptor): Shape | undefined {
  if (compiled.has(type)) return compiled.get(type);
  const made: { shape?: Shape } = {};
  // A type that contains itself finds this forwarder, which calls its shape once made.
  compiled.set(type, (value) => (made.shape === undefined ? UNSURE : made.shape(value)));
  const plans = plan(type);
  made.shape = plans === undefined ? undefined : compile(plans);
  compiled.set(type, made.shape);
  return made.shape;
}

function plan(type: MessageDescriptor): FieldPlan[] | undefined {
  if ((type.oneofDecl?.length ?? 0) > 0 || type.field === undefined) return undefined;
  const plans: FieldPlan[] = [];
  for (const field of type.field) {
    const repeated = field.label === 'LABEL_REPEATED';
    // compile() writes each name into its code: only plain identifiers, and not __proto__, which would be
    // the prototype in its object literal.
    if (field.name === '__proto__' || !IDENTIFIER.test(field.name)) return undefined;
    if (field.type === 'TYPE_MESSAGE') {
      const nested = descriptors.get(field.typeName ?? '');
      const inner = nested === undefined || nested === null ? undefined : shapeOf(nested);
      if (inner === undefined) return undefined;
      const convert: Convert = (v) => (v !== null && typeof v === 'object' ? inner(v) : UNSURE);
      plans.push({ name: field.name, number: field.number, repeated, initial: null, convert });
    } else {
      const scalar = SCALARS[field.type];
      if (scalar === undefined) return undefined;
      const { initial, convert } = scalar;
      plans.push({ name: field.name, number: field.number, repeated, initial, convert });
    }
  }
  plans.sort((a, b) => a.number - b.number);
  return [...plans.filter((p) => p.repeated), ...plans.filter((p) => !p.repeated)];
}

/**
 * The shape of `plans` as one function written for them (as protobuf.js and ajv write theirs): each field read
 * by its name and the copy made by one object literal, where a loop over the plans would read and write every
 * key through V8's slowest, megamorphic, property access. It answers:
 * - the value itself when it is already what the codec answers (`settled` below);
 * - else a new object, its keys in the plans' order, each field's value checked and converted, an absent
 *   (undefined or null) one given its default, a repeated field always a new array;
 * - UNSURE where any value is not one the shape can vouch for (or the value is not a plain object).
 *
 * Settled: a plain object (its prototype Object.prototype) whose enumerable keys are the plans' fields, all
 * present and in the plans' order, each value already its decoded form (a string, a boolean, a number the
 * codec gives back unchanged, a message that is itself settled). A reply of many messages, each made by its
 * handler in field order, thus costs no second object per message. A message with a repeated field never is:
 * its arrays are always new ones (an array may carry properties of its own that the codec would not). Symbol
 * keys are not looked at: neither msgpack nor the codec writes them.
 */
function compile(plans: readonly FieldPlan[]): Shape {
  const key = (p: FieldPlan): string => JSON.stringify(p.name);
  const lines = ["if (value === null || typeof value !== 'object') return UNSURE;"];
  if (plans.every((p) => !p.repeated)) {
    lines.push('settled: {', 'if (Object.getPrototypeOf(value) !== Object.prototype) break settled;', 'let i = 0;');
    lines.push('for (const k in value) {', 'switch (i++) {');
    plans.forEach((p, i) => lines.push(`case ${i}: if (k !== ${key(p)}) break settled; break;`));
    lines.push('default: break settled;', '}', '}', `if (i !== ${plans.length}) break settled;`);
    plans.forEach((p, i) => {
      lines.push(`{ const v = value[${key(p)}];`);
      lines.push(`if (v === undefined || v === null || !Object.is(c${i}(v), v)) break settled; }`);
    });
    lines.push('return value;', '}');
  }
  lines.push('if (Array.isArray(value)) return UNSURE;', 'let v;');
  plans.forEach((p, i) => {
    lines.push(`let x${i};`, `v = value[${key(p)}];`);
    if (p.repeated) {
      lines.push(
        `if (v === undefined || v === null) x${i} = [];`,
        'else if (!Array.isArray(v)) return UNSURE;',
        `else { x${i} = new Array(v.length); for (let j = 0; j < v.length; j++) { const item = c${i}(v[j]); if (item === UNSURE) return UNSURE; x${i}[j] = item; } }`,
      );
    } else {
      lines.push(
        `if (v === undefined || v === null) x${i} = ${JSON.stringify(p.initial)};`,
        `else { x${i} = c${i}(v); if (x${i} === UNSURE) return UNSURE; }`,
      );
    }
  });
  lines.push(`return { ${plans.map((p, i) => `${key(p)}: x${i}`).join(', ')} };`);
  const params = ['UNSURE', ...plans.map((_p, i) => `c${i}`)];
  const body = `return function shape(value) {\n${lines.join('\n')}\n};`;
  // Written from the plans' names, each checked an identifier (plan); their converters come in as parameters.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function(...params, body) as (...args: unknown[]) => Shape;
  return make(UNSURE, ...plans.map((p) => p.convert));
}
