/**
 * `unary` (lib/rpc/grpc.ts), the one way services call each other over gRPC, against a real
 * grpc-js server on loopback: a call made while its callee is not (yet) listening waits for
 * it until the deadline instead of failing at once, and a callee still unreachable at the
 * deadline is AGORA_ERR_RPC_UNAVAILABLE.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { grpcChannelOptions } from '../../lib/config';
import { isAgoraError } from '../../lib/errors';
import { bindServer, unary } from '../../lib/rpc/grpc';
import { loadProto } from '../../lib/rpc/proto';
import { freePort } from '../helpers/proc';

const Channels = loadProto('channels.proto').agora.Channels;

function channelsClient(address: string): grpc.Client {
  return new Channels(address, grpc.credentials.createInsecure(), grpcChannelOptions(address));
}

/** Resolve once the client's channel has reached `state` (a real signal from grpc-js). */
function reaches(client: grpc.Client, state: grpc.connectivityState, deadline: number): Promise<void> {
  const channel = client.getChannel();
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const now = channel.getConnectivityState(true);
      if (now === state) return resolve();
      channel.watchConnectivityState(now, deadline, (err?: Error) => (err ? reject(err) : check()));
    };
    check();
  });
}

test('a call made before its callee listens waits for it, and is answered once it does', async (t) => {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const client = channelsClient(address);
  t.after(() => client.close());
  // 1. The call leaves while nothing listens; the channel fails its first connection.
  const call = unary<{ channel: string }, { exists: boolean }>(
    client,
    'Exists',
    { channel: 'general' },
    { timeoutMs: 10_000 },
  );
  await reaches(client, grpc.connectivityState.TRANSIENT_FAILURE, Date.now() + 5000);
  // 2. Without waiting for ready, the call would have failed there. Now the callee comes up.
  const server = new grpc.Server();
  t.after(() => server.forceShutdown());
  server.addService(Channels.service, {
    Exists: (
      call: grpc.ServerUnaryCall<{ channel: string }, unknown>,
      callback: grpc.sendUnaryData<{ exists: boolean }>,
    ) => callback(null, { exists: call.request.channel === 'general' }),
  });
  await bindServer(server, address);
  assert.deepEqual(await call, { exists: true });
});

test('a callee unreachable until the deadline is AGORA_ERR_RPC_UNAVAILABLE, not a timeout', async (t) => {
  const client = channelsClient(`127.0.0.1:${await freePort()}`);
  t.after(() => client.close());
  await assert.rejects(
    unary(client, 'Exists', { channel: 'general' }, { timeoutMs: 300 }),
    (e: unknown) => isAgoraError(e) && e.code === 'AGORA_ERR_RPC_UNAVAILABLE',
  );
});
