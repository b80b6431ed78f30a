/**
 * A ROUTER of our transport (lib/bus/zmtp.ts) playing a broker by hand: what it receives is queued, and
 * `next()` answers the next message, waiting for one if none is queued.
 */
import { RouterSocket, type Frames } from '../../lib/bus/zmtp';

export function routerInbox(): { broker: RouterSocket; next: () => Promise<Frames> } {
  const broker = new RouterSocket();
  const received: Frames[] = [];
  let arrived: () => void = () => undefined;
  broker.onMessage = (frames) => {
    received.push(frames);
    arrived();
  };
  const next = async (): Promise<Frames> => {
    while (received.length === 0) await new Promise<void>((resolve) => (arrived = resolve));
    return received.shift() as Frames;
  };
  return { broker, next };
}
