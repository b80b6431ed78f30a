/**
 * Z85 (ZeroMQ RFC 32): binary as printable text, 4 bytes to 5 characters, the form in which
 * CURVE keys are written in certificates and configuration. Safe inside quotes and on a
 * command line; the input must come in whole chunks (RFC 32 leaves padding to the caller).
 */

/** The 85 digits, value 0 to 84 (RFC 32 "Formal Specification"). */
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';

/** Character code → digit value, or -1 for a character outside the alphabet. */
const DIGITS = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DIGITS[ALPHABET.charCodeAt(i)] = i;

const MAX_U32 = 0xffffffff;

/** Encode `data` (a multiple of 4 bytes long) as Z85 text. */
export function z85Encode(data: Uint8Array): string {
  if (data.length % 4 !== 0) throw new RangeError(`Z85: ${data.length} bytes is not a multiple of 4`);
  let out = '';
  for (let at = 0; at < data.length; at += 4) {
    // The 4 bytes as one big-endian unsigned 32-bit number, then its 5 digits most significant first.
    let value = ((data[at] << 24) | (data[at + 1] << 16) | (data[at + 2] << 8) | data[at + 3]) >>> 0;
    const chunk = new Array<string>(5);
    for (let i = 4; i >= 0; i--) {
      chunk[i] = ALPHABET[value % 85];
      value = Math.floor(value / 85);
    }
    out += chunk.join('');
  }
  return out;
}

/**
 * Decode Z85 `text` (a multiple of 5 characters long). Throws a RangeError naming the first
 * problem: a length that is not a multiple of 5, a character outside the alphabet, or a chunk
 * whose value does not fit in 32 bits (such text has no byte string it encodes).
 */
export function z85Decode(text: string): Buffer {
  if (text.length % 5 !== 0) throw new RangeError(`Z85: ${text.length} characters is not a multiple of 5`);
  const out = Buffer.allocUnsafe((text.length / 5) * 4);
  for (let at = 0; at < text.length; at += 5) {
    let value = 0;
    for (let i = at; i < at + 5; i++) {
      const code = text.charCodeAt(i);
      const digit = code < 128 ? DIGITS[code] : -1;
      if (digit < 0) throw new RangeError(`Z85: invalid character ${JSON.stringify(text[i])} at offset ${i}`);
      value = value * 85 + digit;
    }
    if (value > MAX_U32) throw new RangeError(`Z85: chunk ${JSON.stringify(text.slice(at, at + 5))} exceeds 32 bits`);
    out.writeUInt32BE(value, (at / 5) * 4);
  }
  return out;
}
