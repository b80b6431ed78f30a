/**
 * ZMTP metadata properties (ZeroMQ RFC 23 "The READY command", RFC 26 `metadata`): each is a
 * name (1 to 255 octets), then a 4-byte network-order length and that many octets of value.
 * NULL's READY carries them as they are, the CURVE handshake inside its INITIATE and READY
 * boxes (Socket-Type, Identity). Every mechanism of lib/bus/ reads and writes them here.
 */

/** Properties to send, by name (sent in this order). */
export type Properties = Record<string, Buffer>;

/** Received properties, by lower-cased name (names are case-insensitive, RFC 26 `metadata`). */
export type PeerProperties = Map<string, Buffer>;

/** The largest value RFC 26 allows (2^31 - 1 octets). */
const MAX_VALUE_BYTES = 0x7fffffff;
/** RFC 26 `name-char`. */
const NAME = /^[A-Za-z0-9\-_.+]{1,255}$/;

/** Encode `props`; throws a RangeError for a name outside RFC 26's grammar (a caller's mistake). */
export function encodeProperties(props: Properties): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(props)) {
    if (!NAME.test(name)) throw new RangeError(`invalid ZMTP property name ${JSON.stringify(name)}`);
    if (value.length > MAX_VALUE_BYTES) throw new RangeError(`ZMTP property ${name} is too long`);
    const head = Buffer.allocUnsafe(1 + name.length + 4);
    head[0] = name.length;
    head.write(name, 1, 'latin1');
    head.writeUInt32BE(value.length, 1 + name.length);
    parts.push(head, value);
  }
  return Buffer.concat(parts);
}

/**
 * Decode properties that must fill `data` exactly; undefined when they do not (a truncated
 * property, an empty name, a value over 2^31 - 1 octets). Values are copies, so they outlive
 * `data`.
 */
export function decodeProperties(data: Buffer): PeerProperties | undefined {
  const props: PeerProperties = new Map();
  let at = 0;
  while (at < data.length) {
    const nameLength = data[at];
    if (nameLength === 0 || at + 1 + nameLength + 4 > data.length) return undefined;
    const name = data.toString('latin1', at + 1, at + 1 + nameLength).toLowerCase();
    const valueLength = data.readUInt32BE(at + 1 + nameLength);
    const start = at + 1 + nameLength + 4;
    if (valueLength > MAX_VALUE_BYTES || start + valueLength > data.length) return undefined;
    props.set(name, Buffer.from(data.subarray(start, start + valueLength)));
    at = start + valueLength;
  }
  return props;
}
