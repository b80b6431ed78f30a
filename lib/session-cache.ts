/**
 * PLACEHOLDER CONTRACT — being implemented. Resolves a session key to its user for
 * services other than auth, without a gRPC call per request (DESIGN "Keep slow hops off
 * the hot path"): answers from a cache kept coherent by auth's Watch stream.
 */
import type { RpcContext } from './rpc/service';

export interface SessionResolver {
  /** The username holding `sesskey`, or AgoraError AGORA_ERR_AUTH_BAD_SESSION. */
  resolve(sesskey: number, ctx?: Pick<RpcContext, 'reqId' | 'deadline'>): Promise<string>;
  close(): void;
}
