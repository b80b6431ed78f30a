/**
 * Wire constants of ZeroMQ RFC 7/MDP (Majordomo Protocol 0.2) and RFC 8/MMI.
 * https://rfc.zeromq.org/spec/7/ — every frame layout in this project comes from here.
 */

/** RFC 7 §"Client protocol": frame 1 of every client message. */
export const MDPC01 = Buffer.from('MDPC01');
/** RFC 7 §"Worker protocol": frame 1 of every worker message. */
export const MDPW01 = Buffer.from('MDPW01');
/** The empty delimiter frame that REQ sockets add and DEALER peers must add by hand. */
export const EMPTY = Buffer.alloc(0);

/**
 * RFC 7 worker commands: frame 2 of every worker message, one byte. Plain numbers (not an
 * enum), so that a byte read off the wire compares with them as it is.
 */
export const Command = {
  READY: 0x01,
  REQUEST: 0x02,
  REPLY: 0x03,
  HEARTBEAT: 0x04,
  DISCONNECT: 0x05,
} as const;
export type Command = (typeof Command)[keyof typeof Command];

export const READY = Buffer.from([Command.READY]);
export const REQUEST = Buffer.from([Command.REQUEST]);
export const REPLY = Buffer.from([Command.REPLY]);
export const HEARTBEAT = Buffer.from([Command.HEARTBEAT]);
export const DISCONNECT = Buffer.from([Command.DISCONNECT]);

/** RFC 8: service names starting with this are answered by the broker itself. */
export const MMI_PREFIX = 'mmi.';
/** RFC 8 §"Service discovery": is a service registered? Reply "200", "404" or "501". */
export const MMI_SERVICE = 'mmi.service';
/** Agora's addition (docs/PROTOCOL.md §11): every service with its worker counts and queue depth. */
export const MMI_SERVICES = 'mmi.services';

/** Byte-wise equality of a frame and a constant, without allocating. */
export function same(frame: Buffer | undefined, constant: Buffer): boolean {
  return frame !== undefined && sameAt(frame, 0, frame.length, constant);
}

/** Whether bytes [start, end) of `buf` are `constant`'s, without allocating. */
export function sameAt(buf: Buffer, start: number, end: number, constant: Buffer): boolean {
  if (end - start !== constant.length) return false;
  // The constants are a few bytes: compared here, byte by byte, rather than by a native call.
  for (let i = 0; i < constant.length; i++) if (buf[start + i] !== constant[i]) return false;
  return true;
}

const MMI_PREFIX_BYTES = Buffer.from(MMI_PREFIX);

/** Whether a service name frame starts with `mmi.`, without decoding it. */
export function isMmi(frame: Buffer): boolean {
  return (
    frame.length >= MMI_PREFIX_BYTES.length &&
    frame.compare(MMI_PREFIX_BYTES, 0, MMI_PREFIX_BYTES.length, 0, MMI_PREFIX_BYTES.length) === 0
  );
}
