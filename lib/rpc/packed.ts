/**
 * Replies encoded for the bus ahead of time (docs/ARCHITECTURE.md "One contract, two transports"). A
 * handler answers the same object on both transports; one whose reply lists many items may also hang on it
 * (`withBusPacked`) what the bus sends for it, already encoded: `busHandlers` (./service.ts) then sends those
 * bytes instead of shaping and encoding the object, and gRPC, which never looks at it, answers the object.
 * `PackedItems` makes such bytes from items each shaped (./shape.ts) and encoded once, and kept by the object
 * the item is made from for as long as that object lives, when that object is frozen (its owner keeps it
 * unchanged, as the memory store does its retained messages).
 */
import { pack, Packed, packedMapOfList, packOwn } from '../bus/codec';
import { shapeOf, UNSURE, type MessageDescriptor, type Shape } from './shape';

/** Where a reply keeps its bus encoding: a symbol, which neither msgpack, protobuf nor JSON writes. */
const BUS_PACKED: unique symbol = Symbol('bus packed');

type Carrier = { [BUS_PACKED]?: () => Packed | undefined };

/**
 * `reply`, carrying `packed`: what busHandlers sends instead of the reply, when it answers one; it must answer
 * the bytes of the reply shaped and encoded as busHandlers would, or undefined (then it does that itself).
 */
export function withBusPacked<T extends object>(reply: T, packed: () => Packed | undefined): T {
  (reply as Carrier)[BUS_PACKED] = packed;
  return reply;
}

/** The bus encoding a reply carries (withBusPacked), or undefined. */
export function busPackedOf(reply: unknown): Packed | undefined {
  if (reply === null || typeof reply !== 'object') return undefined;
  const packed = (reply as Carrier)[BUS_PACKED];
  return typeof packed === 'function' ? packed() : undefined;
}

/**
 * A reply `{[field]: [item…]}` of one repeated message field, each item made from a source object by
 * `itemOf` and shaped by the item's message type. The encoding of an item whose source is frozen is made once
 * and kept in a WeakMap, so for as long as the source lives and no longer; any other source (one that may
 * change, or is new at each call, as a database's rows) is encoded at each call. An item its shape cannot
 * vouch for makes the whole reply undefined: the caller's general path decides.
 */
export class PackedItems<S extends object> {
  private readonly kept = new WeakMap<S, Buffer | null>();
  private readonly shape: Shape;

  constructor(
    private readonly field: string,
    itemType: MessageDescriptor,
    private readonly itemOf: (source: S) => object,
  ) {
    const shape = shapeOf(itemType);
    if (shape === undefined) throw new TypeError(`no shape for message type ${itemType.name ?? '?'}`);
    this.shape = shape;
  }

  /** The encoding of `{[field]: sources.map(itemOf)}` as busHandlers would make it, or undefined. */
  pack(sources: readonly S[]): Packed | undefined {
    const items = new Array<Buffer>(sources.length);
    for (let i = 0; i < sources.length; i++) {
      const source = sources[i];
      const keep = Object.isFrozen(source);
      let bytes = keep ? this.kept.get(source) : undefined;
      if (bytes === undefined) {
        const shaped = this.shape(this.itemOf(source));
        // Kept bytes get a buffer of their own: a slice of Node's pool would keep all of the pool alive.
        bytes = shaped === UNSURE ? null : keep ? packOwn(shaped) : pack(shaped);
        if (keep) this.kept.set(source, bytes);
      }
      if (bytes === null) return undefined;
      items[i] = bytes;
    }
    return packedMapOfList(this.field, items);
  }
}
