/**
 * The channels service (the legacy messaging API's `/list` and `/create`,
 * docs/API-LEGACY.md "Channels"): handlers for proto service `Channels`, served on the bus
 * and on gRPC by lib/rpc. State is reached only through the ChannelStore contract; sessions
 * only through a SessionResolver.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { staleError } from '../../lib/etag';
import { AgoraError } from '../../lib/errors';
import type { ChannelPermissions__Output } from '../../lib/gen/agora/ChannelPermissions';
import type { ChannelsDefinition } from '../../lib/gen/agora/Channels';
import {
  canRead,
  canWrite,
  CHANNEL_ACCESS_CACHE_MS,
  EVERYONE,
  normalized,
  patched,
  type Permissions,
  permissionsProblem,
  principalsOf,
  publicChannel,
  SHARED_CHANNEL_ACCESS_CACHE_MS,
} from '../../lib/permissions';
import { loadProto } from '../../lib/rpc/proto';
import type { Implementation, RpcContext, ServiceImpl } from '../../lib/rpc/service';
import type { SessionResolver } from '../../lib/session-cache';
import type { ChannelRecord, ChannelStore } from '../../lib/store/contracts';

/**
 * How often a change of permissions without a version is made again after losing a race (each
 * loss means another writer went ahead, so n writers at once need at most n tries).
 */
const PERMISSIONS_TRIES = 32;

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
  /**
   * Told of each change of a channel's permissions once stored; resolves once every messages
   * instance has dropped what it kept of them (main.ts: lib/fanout.ts over the store's topic).
   */
  announce?: (channel: string) => Promise<void>;
}

/**
 * The permissions a request names (`set_read`, `set_write` say which kinds; a create names both
 * when it names any), checked: AGORA_ERR_PERMISSIONS_INVALID for an unknown principal or too many.
 */
export function requestedPermissions(
  given: ChannelPermissions__Output | null | undefined,
  kinds: { read: boolean; write: boolean },
): Partial<Permissions> {
  const change: Partial<Permissions> = {};
  if (kinds.read) change.read = given?.read ?? [];
  if (kinds.write) change.write = given?.write ?? [];
  const problem = permissionsProblem(change);
  if (problem !== null) throw new AgoraError('AGORA_ERR_PERMISSIONS_INVALID', [problem]);
  return change;
}

/**
 * The handler table of `Channels`. Who may do what is lib/permissions.ts's rule on the channel's
 * permissions (docs/API-V1.md "Permissions"): a channel one may not read is answered as absent.
 * - List: the names of the channels the caller may read, sorted, each with its timestamp
 *   (last_modified); the version is the whole list's timestamp.
 * - Create: idempotent — creating a channel that exists succeeds with `created: false`
 *   (several clients may create "general" at start-up; none should fail: docs/API-LEGACY.md
 *   "Channels").
 *   With `check_version`, the store creates only if the list is still at `expected_version`,
 *   in the same atomic step as the insert; else AGORA_ERR_CHANNEL_LIST_STALE (412), naming
 *   the version it found.
 * - Get: the channel, its permissions and its last_modified, for a session that may read it;
 *   AGORA_ERR_CHANNEL_NOT_FOUND when there is none (an invalid name included: it names no
 *   channel) or the caller may not read it.
 * - SetPermissions: for a writer (AGORA_ERR_FORBIDDEN for a reader): each kind named replaced,
 *   the creator and the caller kept among the writers (lib/permissions.ts `patched`), written by
 *   a compare-and-write on the last_modified read (ChannelStore `setPermissionsIfVersion`), so a
 *   concurrent change is never lost: with `check_version`, compared with `expected_version`
 *   (AGORA_ERR_CHANNEL_STALE when the channel moved on); without, a lost race reads and patches
 *   again.
 * - Create: with the permissions asked for (the creator always among the writers), else public.
 * - Exists: whether the channel exists for the session (one it may not read does not); without
 *   a session (sesskey 0), only those system.Everyone may read exist. An invalid name never exists.
 * - Access: no session, gRPC only: whether it exists and its permissions, for Messages to judge.
 */
export function buildChannelsHandlers(deps: ChannelsDeps): Implementation<ChannelsDefinition> {
  const user = (sesskey: number, ctx: RpcContext): Promise<string> => deps.sessions.resolve(sesskey, ctx);
  /** The channel `username` may read; absent (or unreadable): AGORA_ERR_CHANNEL_NOT_FOUND. */
  const readable = async (name: string, username: string): Promise<ChannelRecord> => {
    const found = channelNameProblem(name) === null ? await deps.store.get(name) : undefined;
    if (found === undefined || !canRead(found.permissions, principalsOf(username)))
      throw new AgoraError('AGORA_ERR_CHANNEL_NOT_FOUND', [quote(name ?? '')]);
    return found;
  };
  return {
    List: async (request, ctx) => {
      const username = await user(request.sesskey, ctx);
      const { channels, version } = await deps.store.list(principalsOf(username));
      return { channels: channels.map((c) => c.name), version, last_modified: channels.map((c) => c.lastModified) };
    },
    Create: async (request, ctx) => {
      const username = await user(request.sesskey, ctx);
      const problem = channelNameProblem(request.channel);
      if (problem !== null) throw new AgoraError('AGORA_ERR_CHANNEL_INVALID_NAME', [problem]);
      const asked = request.permissions ?? undefined;
      const permissions =
        asked === undefined
          ? publicChannel(username)
          : normalized(requestedPermissions(asked, { read: true, write: true }), username);
      const expected = request.check_version ? request.expected_version : undefined;
      const { created, stale, version, lastModified } = await deps.store.create(
        request.channel,
        username,
        expected,
        permissions,
      );
      if (stale) throw staleError('AGORA_ERR_CHANNEL_LIST_STALE', [expected], version);
      if (created) {
        ctx.log.info({ channel: request.channel, username }, 'channel created');
        return { channel: request.channel, created, version, permissions, last_modified: lastModified ?? 0 };
      }
      // It existed: creating it again changes nothing, and tells nothing to whom may not read it.
      const existing = await deps.store.get(request.channel);
      if (existing !== undefined && !canRead(existing.permissions, principalsOf(username)))
        throw new AgoraError('AGORA_ERR_FORBIDDEN', ['create channel', quote(request.channel)]);
      return {
        channel: request.channel,
        created,
        version,
        permissions: existing?.permissions ?? permissions,
        last_modified: existing?.lastModified ?? lastModified ?? 0,
      };
    },
    Get: async (request, ctx) => {
      const found = await readable(request.channel, await user(request.sesskey, ctx));
      return { channel: found.name, permissions: found.permissions, last_modified: found.lastModified };
    },
    SetPermissions: async (request, ctx) => {
      const username = await user(request.sesskey, ctx);
      const change = requestedPermissions(request.permissions, { read: request.set_read, write: request.set_write });
      const expected = request.check_version ? request.expected_version : undefined;
      for (let tries = 1; ; tries++) {
        const found = await readable(request.channel, username);
        if (!canWrite(found.permissions, principalsOf(username)))
          throw new AgoraError('AGORA_ERR_FORBIDDEN', ['change the permissions of channel', quote(found.name)]);
        if (expected !== undefined && expected !== found.lastModified)
          throw staleError('AGORA_ERR_CHANNEL_STALE', [quote(found.name), expected], found.lastModified);
        const permissions = patched(found.permissions, change, found.createdBy, username);
        // Compared with what was read: a write in between (another PATCH) refuses this one.
        const written = await deps.store.setPermissionsIfVersion(found.name, permissions, found.lastModified);
        if (written.done) {
          // Answered once no messages instance can still answer a post with the permissions before.
          await deps.announce?.(found.name);
          ctx.log.info({ channel: found.name, username, permissions }, 'channel permissions changed');
          return { channel: found.name, permissions, last_modified: written.version };
        }
        if (written.version === undefined) throw new AgoraError('AGORA_ERR_CHANNEL_NOT_FOUND', [quote(found.name)]);
        // The client named a version, which is no longer current; otherwise read again and patch that.
        if (expected !== undefined || tries >= PERMISSIONS_TRIES)
          throw staleError('AGORA_ERR_CHANNEL_STALE', [quote(found.name), found.lastModified], written.version);
      }
    },
    Exists: async (request, ctx) => {
      if (channelNameProblem(request.channel) !== null) return { exists: false };
      // Without a session the caller is anyone: system.Everyone is all it holds.
      const principals = request.sesskey === 0 ? [EVERYONE] : principalsOf(await user(request.sesskey, ctx));
      const found = await deps.store.get(request.channel);
      return { exists: found !== undefined && canRead(found.permissions, principals) };
    },
    Access: async (request) => {
      const found = channelNameProblem(request.channel) === null ? await deps.store.get(request.channel) : undefined;
      return { exists: found !== undefined, permissions: found?.permissions ?? null };
    },
  };
}

/** Beyond Messages' cache time: two processes' timers do not fire at the very same instant. */
const EXPIRY_MARGIN_MS = 50;

/**
 * What Channels does with a change of a channel's permissions before it answers it, so that no copy
 * Messages keeps from before the change can answer a post after (lib/permissions.ts): with a topic of
 * changes (`fanout`), announce it, which answers once every messages instance has dropped its copy,
 * and if the announce could not be published, wait until the copies kept with a topic have expired
 * (SHARED_CHANNEL_ACCESS_CACHE_MS); without a topic, wait until the copy kept in memory has
 * (CHANNEL_ACCESS_CACHE_MS). `wait` (tests) sleeps.
 */
export function permissionChanges(
  fanout: { invalidate(keys: readonly string[]): Promise<boolean> } | undefined,
  wait = (ms: number): Promise<void> => sleep(ms),
): (channel: string) => Promise<void> {
  if (fanout === undefined) return () => wait(CHANNEL_ACCESS_CACHE_MS + EXPIRY_MARGIN_MS);
  return async (channel) => {
    if (!(await fanout.invalidate([channel]))) await wait(SHARED_CHANNEL_ACCESS_CACHE_MS + EXPIRY_MARGIN_MS);
  };
}

/** The `Channels` service as lib/rpc serves it (every method on both transports). */
export function buildChannelsService(deps: ChannelsDeps): ServiceImpl<ChannelsDefinition> {
  return {
    name: 'Channels',
    definition: loadProto('channels.proto').agora.Channels.service,
    handlers: buildChannelsHandlers(deps),
    // Messages': no session guards it, so only the mesh's gRPC reaches it.
    busExclude: ['Access'],
  };
}
