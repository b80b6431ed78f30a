/**
 * The request id: a caller's `X-Request-Id` is kept when it is a sane token (it goes into every
 * log line and onto the bus, so nothing long or odd), else a new (version 4) UUID is made. The gateway and the
 * proxy both name requests this way (docs/ARCHITECTURE.md "Logs and request ids").
 */
import { randomFillSync } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

const VALID_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The request id of `req`: the caller's `X-Request-Id` when sane, else a new UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && VALID_ID.test(given) ? given : newUuid();
}

/** How many UUIDs' random bytes are drawn at once. */
const BATCH = 256;
const random = Buffer.allocUnsafeSlow(16 * BATCH);
let drawn = BATCH;
const text = Buffer.allocUnsafeSlow(36);
const HEX = Buffer.from('0123456789abcdef');

/**
 * A random (version 4) UUID, as `crypto.randomUUID` makes it (its random bytes from the same generator,
 * drawn in batches too), written into one string at once: Node's joins 20 pieces, a chain of strings
 * that each request made, and later flattened, for its id.
 */
export function newUuid(): string {
  if (drawn === BATCH) {
    randomFillSync(random);
    drawn = 0;
  }
  const at = 16 * drawn++;
  let o = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) text[o++] = 0x2d; // '-'
    let byte = random[at + i];
    if (i === 6)
      byte = (byte & 0x0f) | 0x40; // the version, 4
    else if (i === 8) byte = (byte & 0x3f) | 0x80; // the variant, 10xx
    text[o++] = HEX[byte >> 4];
    text[o++] = HEX[byte & 0x0f];
  }
  return text.toString('latin1', 0, 36);
}
