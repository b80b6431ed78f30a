/**
 * Replies encoded for the bus ahead of time (docs/ARCHITECTURE.md "One contract, two transports"). A
 * handler answers the same object on both transports; one whose reply lists many items may also hang on it
 * (`withBusPacked`) what the bus sends for it, already encoded: `busHandlers` (./service.ts) then sends those
 * bytes instead of shaping and encoding the object, and gRPC, which never looks at it, answers the object.
 * `PackedItems` makes such bytes from items each shaped (./shape.ts) and encoded once, and kept by the object
 * the item is made from for as long as that object lives (a store's retained message, say).
 */
import { Packed, packedMapOfList, packOwn } from '../bus/codec';
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
 * `itemOf`, shaped by the item's message type and encoded once per source object (kept in a WeakMap, so for
 * as long as the source lives, and no longer). An item its shape cannot vouch for makes the whole reply
 * undefined: the caller's general path decides.
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
      let bytes = this.kept.get(source);
      if (bytes === undefined) {
        const shaped = this.shape(this.itemOf(source));
        bytes = shaped === UNSURE ? null : packOwn(shaped);
        this.kept.set(source, bytes);
      }
      if (bytes === null) return undefined;
      items[i] = bytes;
    }
    return packedMapOfList(this.field, items);
  }
}
