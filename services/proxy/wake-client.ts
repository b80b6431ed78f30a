/**
 * The proxy's side of the wake service (proto/wake.proto), over the bus: the `Waker` that
 * proxy.ts holds requests on, and the activity report that keeps busy nodes from being
 * stopped as idle. The report is a set of node ids filled by the requests (one `Set.add`
 * each) and sent by a timer, never on a request's way.
 */
import type { BusCaller } from '../../lib/bus/client';
import { AgoraError, errorMessage, isAgoraError } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import type { NodeAddress, Waker } from './waker';

/** Wake.Wake over the bus. */
export function busWaker(bus: BusCaller): Waker {
  return {
    wake: async (nodeId: string, deadline: number): Promise<NodeAddress> => {
      try {
        const reply = (await bus.call('Wake', 'Wake', [{ node_id: nodeId }], { deadline })) as Partial<NodeAddress>;
        return { host: String(reply?.host ?? ''), port: Number(reply?.port ?? 0) };
      } catch (e) {
        if (isAgoraError(e) && e.code === 'AGORA_ERR_RPC_TIMEOUT')
          throw new AgoraError('AGORA_ERR_PROXY_WAKE_TIMEOUT', [nodeId, Math.max(0, deadline - Date.now())], {
            cause: e,
          });
        throw e;
      }
    },
  };
}

export interface ActivityOptions {
  bus: BusCaller;
  /** How often the nodes seen are reported. */
  everyMs: number;
  log: Logger;
}

/** The nodes this proxy served since its last report, sent to Wake.Activity every `everyMs`. */
export class ActivityReporter {
  private seen = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: ActivityOptions) {
    this.timer = setInterval(() => void this.report(), options.everyMs);
    this.timer.unref();
  }

  /** A request went to node `id`. */
  readonly saw = (id: string): void => void this.seen.add(id);

  /** Send what was seen (a failed report is merged into the next). */
  async report(): Promise<void> {
    if (this.seen.size === 0) return;
    const ids = [...this.seen];
    this.seen = new Set();
    try {
      await this.options.bus.call('Wake', 'Activity', [{ node_ids: ids }], { timeoutMs: this.options.everyMs });
    } catch (e) {
      for (const id of ids) this.seen.add(id);
      this.options.log.warn(
        { nodes: ids.length, detail: errorMessage(e) },
        'activity report failed; kept for the next',
      );
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/** How often a proxy reports activity for an idle limit of `idleMs`: often enough that a busy node never looks idle. */
export function reportEveryMs(idleMs: number): number {
  return Math.max(50, Math.min(1000, Math.floor(idleMs / 4)));
}
