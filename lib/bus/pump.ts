/**
 * One outgoing-send pump per ZeroMQ socket. zeromq.js allows one `send` in progress per
 * socket (a second one fails with EBUSY), so every send of a socket goes through here:
 * messages wait in a bounded FIFO and are written one after the other.
 */
import type { Writable } from 'zeromq';

type Message = Buffer[];

export interface PumpOptions {
  /** Messages waiting beyond which `send` returns false and drops the message. */
  max: number;
  /** Called once for a send that failed (socket closed, peer gone, …). */
  onError: (err: unknown) => void;
}

export class SendPump {
  private readonly queue: Message[] = [];
  private head = 0;
  private running = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly socket: Writable<Message>, private readonly options: PumpOptions) {}

  /** Messages waiting to be written. */
  get size(): number {
    return this.queue.length - this.head;
  }

  /** Queue `message`; false when the queue is full and the message was dropped. */
  send(message: Message): boolean {
    if (this.size >= this.options.max) return false;
    this.queue.push(message);
    if (!this.running) void this.run();
    return true;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.head < this.queue.length) {
        const message = this.queue[this.head];
        this.queue[this.head++] = EMPTY_MESSAGE;
        if (this.head > 1024 && this.head * 2 > this.queue.length) this.compact();
        try {
          await this.socket.send(message);
        } catch (err) {
          this.options.onError(err);
          if ((this.socket as unknown as { closed: boolean }).closed) {
            this.clear();
            return;
          }
        }
      }
      this.clear();
    } finally {
      this.running = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** Resolves once every queued message has been handed to the socket. */
  flush(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private compact(): void {
    this.queue.splice(0, this.head);
    this.head = 0;
  }

  /** Drop every waiting message. */
  clear(): void {
    this.queue.length = 0;
    this.head = 0;
  }
}

const EMPTY_MESSAGE: Message = [];
