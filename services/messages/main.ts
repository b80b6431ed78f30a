/**
 * The messages process (Procfile: messages): `Messages` on the bus and on gRPC. It asks
 * Channels whether a channel exists by typed gRPC, with a deadline, remembering the yeses.
 */
import { grpcChannelOptions, grpcTarget } from '../../lib/config';
import type { ExistsReply__Output } from '../../lib/gen/agora/ExistsReply';
import { unary } from '../../lib/rpc/grpc';
import { loadProto } from '../../lib/rpc/proto';
import { serviceMain } from '../../lib/rpc/run';
import { createSessionCache } from '../../lib/session-cache';
import { openStores } from '../../lib/store/index';
import { buildMessagesService, cachePositive, type ChannelExists } from './handlers';

serviceMain(
  'messages',
  (config) => config.messagesGrpcUrl,
  async (config, log, security) => {
    const stores = await openStores(config, log, ['messages']);
    const sessions = createSessionCache({
      authGrpcUrl: config.authGrpcUrl,
      timeoutMs: config.grpcTimeoutMs,
      log: log.child({ mod: 'sessions' }),
      credentials: security.client,
    });
    const Channels = loadProto('channels.proto').agora.Channels;
    const channels = new Channels(
      grpcTarget(config.channelsGrpcUrl),
      security.client,
      grpcChannelOptions(config.channelsGrpcUrl),
    );
    // The caller's deadline, but never longer than a typed call between services may take.
    const exists: ChannelExists = async (channel, ctx) => {
      const reply = await unary<{ channel: string }, ExistsReply__Output>(
        channels,
        'Exists',
        { channel },
        { deadline: ctx.deadline, reqId: ctx.reqId, timeoutMs: config.grpcTimeoutMs },
      );
      return reply.exists;
    };
    return {
      impl: buildMessagesService({
        store: stores.messages,
        sessions,
        channelExists: cachePositive(exists),
        retain: config.messagesRetained,
        maxBytes: config.messageMaxBytes,
      }),
      health: stores.checks(),
      close: async () => {
        sessions.close();
        channels.close();
        await stores.close();
      },
    };
  },
);
