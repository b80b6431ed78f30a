/**
 * The channels service (the legacy messaging API's `/list` and `/create`,
 * docs/API-LEGACY.md "Channels"): handlers for proto service `Channels`, served on the bus
 * and on gRPC by lib/rpc. State is reached only through the ChannelStore contract; sessions
 * only through a SessionResolver.
 */
import { staleError } from '../../lib/etag';
import { AgoraError } from '../../lib/errors';
import type { ChannelsDefinition } from '../../lib/gen/agora/Channels';
import { loadProto } from '../../lib/rpc/proto';
import type { Implementation, RpcContext, ServiceImpl } from '../../lib/rpc/service';
import type { SessionResolver } from '../../lib/session-cache';
import type { ChannelStore } from '../../lib/store/contracts';

/** Longest channel name, in characters. */
export const CHANNEL_NAME_MAX = 64;

/**
 * A channel name is 1 to 64 characters from `A-Z a-z 0-9 _ - .`, not starting with a dot;
 * case matters (`General` and `general` are two channels). No spaces, slashes or `#`, so a
 * name stands unescaped in a URL path (`/v1/channels/{name}`) and in any client's logs.
 * Names are taken exactly as sent: nothing is trimmed or folded.
 */
export const CHANNEL_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/;

/** Why `name` is not a valid channel name, or null when it is. */
export function channelNameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'a channel name is required';
  if (name.length > CHANNEL_NAME_MAX) return `${name.length} characters, at most ${CHANNEL_NAME_MAX} allowed`;
  if (name.startsWith('.')) return `${quote(name)} starts with a dot`;
  if (!CHANNEL_NAME.test(name)) return `${quote(name)} may only hold letters, digits, "_", "-" and "."`;
  return null;
}

/** A name for an error message: JSON-quoted and cut, so odd input stays readable. */
export function quote(name: string): string {
  return JSON.stringify(name.length > CHANNEL_NAME_MAX ? `${name.slice(0, CHANNEL_NAME_MAX)}…` : name);
}

export interface ChannelsDeps {
  store: ChannelStore;
  sessions: SessionResolver;
}

/**
 * The handler table of `Channels`.
 * - List: every channel name, sorted, with its timestamp (last_modified), and the list's.
 * - Create: idempotent — creating a channel that exists succeeds with `created: false`
 *   (several clients may create "general" at start-up; none should fail: docs/API-LEGACY.md
 *   "Channels").
 *   With `check_version`, the store creates only if the list is still at `expected_version`,
 *   in the same atomic step as the insert; else AGORA_ERR_CHANNEL_LIST_STALE (412), naming
 *   the version it found.
 * - Get: the channel, for a session; AGORA_ERR_CHANNEL_NOT_FOUND when there is none (an
 *   invalid name included: it names no channel).
 * - Exists: no session; internal (Messages asks it over gRPC), also left on the bus because
 *   it tells no more than List does to anyone who can log on. An invalid name never exists.
 */
export function buildChannelsHandlers(deps: ChannelsDeps): Implementation<ChannelsDefinition> {
  const user = (sesskey: number, ctx: RpcContext): Promise<string> => deps.sessions.resolve(sesskey, ctx);
  return {
    List: async (request, ctx) => {
      await user(request.sesskey, ctx);
      const { channels, version } = await deps.store.list();
      return { channels: channels.map((c) => c.name), version, last_modified: channels.map((c) => c.lastModified) };
    },
    Create: async (request, ctx) => {
      const username = await user(request.sesskey, ctx);
      const problem = channelNameProblem(request.channel);
      if (problem !== null) throw new AgoraError('AGORA_ERR_CHANNEL_INVALID_NAME', [problem]);
      const expected = request.check_version ? request.expected_version : undefined;
      const { created, stale, version, lastModified } = await deps.store.create(request.channel, username, expected);
      if (stale) throw staleError('AGORA_ERR_CHANNEL_LIST_STALE', [expected], version);
      if (created) ctx.log.info({ channel: request.channel, username }, 'channel created');
      return { channel: request.channel, created, version, last_modified: lastModified ?? 0 };
    },
    Get: async (request, ctx) => {
      await user(request.sesskey, ctx);
      const found = channelNameProblem(request.channel) === null ? await deps.store.get(request.channel) : undefined;
      if (found === undefined) throw new AgoraError('AGORA_ERR_CHANNEL_NOT_FOUND', [quote(request.channel ?? '')]);
      return { channel: request.channel, last_modified: found.lastModified };
    },
    Exists: async (request) => ({
      exists: channelNameProblem(request.channel) === null && (await deps.store.exists(request.channel)),
    }),
  };
}

/** The `Channels` service as lib/rpc serves it (every method on both transports). */
export function buildChannelsService(deps: ChannelsDeps): ServiceImpl<ChannelsDefinition> {
  return {
    name: 'Channels',
    definition: loadProto('channels.proto').agora.Channels.service,
    handlers: buildChannelsHandlers(deps),
  };
}
