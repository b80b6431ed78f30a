/**
 * Upgraded connections (WebSocket): the handshake goes to the target on a connection of
 * its own, and from then on the two sockets are piped both ways, byte for byte, until
 * either side closes. Failures before the target answers are written to the client as a
 * raw HTTP response, since node has handed the socket over.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { AgoraError } from '../../lib/errors';
import { rawError } from './answers';

export interface UpgradeSpec {
  host: string;
  port: number;
  connectTimeoutMs: number;
  /** How long the target has to answer the handshake. */
  readTimeoutMs: number;
  /** The handshake's request head (headers.ts, with `upgrade`). */
  head: string;
  requestId: string;
  label: string;
  retryAfterS: number;
}

/** Connect `client` (a socket node gave up with `head`, its first bytes) to the target. */
export function pipeUpgrade(client: Duplex, head: Buffer, spec: UpgradeSpec): void {
  const target = net.connect({ host: spec.host, port: spec.port, noDelay: true });
  let connected = false;
  let answered = false;
  let explained = false;
  const fail = (err: AgoraError): void => {
    // Before the target answered, the client is told why (and the socket closed once that is written).
    explained = !answered && client.writable;
    if (explained) client.end(rawError(err, spec.requestId, spec.retryAfterS));
    else client.destroy();
    target.destroy();
  };
  target.setTimeout(spec.connectTimeoutMs);
  target.on('connect', () => {
    connected = true;
    target.setTimeout(spec.readTimeoutMs);
  });
  target.once('data', () => {
    // The handshake is answered: no deadline on a connection that may stay quiet for hours.
    answered = true;
    target.setTimeout(0);
  });
  target.on('timeout', () => {
    const what = connected ? 'answer the upgrade' : 'accept the connection';
    fail(
      new AgoraError('AGORA_ERR_PROXY_TARGET_TIMEOUT', [
        spec.label,
        what,
        connected ? spec.readTimeoutMs : spec.connectTimeoutMs,
      ]),
    );
  });
  target.on('error', (err: NodeJS.ErrnoException) => {
    const why = connected ? (err.code ?? err.message) : `connection failed (${err.code ?? err.message})`;
    fail(new AgoraError('AGORA_ERR_PROXY_TARGET_FAILED', [spec.label, why]));
  });
  client.on('error', () => target.destroy());
  target.on('close', () => explained || client.destroy());
  client.on('close', () => target.destroy());
  target.write(spec.head, 'latin1');
  if (head.length > 0) target.write(head);
  target.pipe(client);
  client.pipe(target);
}
