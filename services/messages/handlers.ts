/**
 * The messages service (the legacy messaging API's `/post`, `/lastmessage` and `/retrieve`,
 * docs/API-LEGACY.md "Messages"): handlers for proto service `Messages`, served on the bus
 * and on gRPC by lib/rpc. Messages are kept through the MessageStore contract; whether a
 * channel exists, and its permissions, are Channels' to say (asked through `channelAccess`,
 * which main.ts backs with a typed gRPC call); who may read or post is lib/permissions.ts's rule.
 */
import { staleError } from '../../lib/etag';
import { AgoraError } from '../../lib/errors';
import type { LocalWatchers } from '../../lib/fanout';
import type { Message__Output } from '../../lib/gen/agora/Message';
import type { MessagesDefinition } from '../../lib/gen/agora/Messages';
import { canRead, canWrite, CHANNEL_ACCESS_CACHE_MS, principalsOf, type Permissions } from '../../lib/permissions';
import { PackedItems, withBusPacked } from '../../lib/rpc/packed';
import { loadProto } from '../../lib/rpc/proto';
import type { Implementation, RpcContext, ServiceImpl } from '../../lib/rpc/service';
import type { SessionResolver } from '../../lib/session-cache';
import type { MessageStreamHub, StreamCall } from './stream';
import type { Appended, AppendExpect, AppendKey, MessageStore, StoredMessage } from '../../lib/store/contracts';

/** Answers a channel's permissions, undefined when it does not exist; may fail (e.g. Channels unreachable). */
export type ChannelAccess = (
  channel: string,
  ctx: Pick<RpcContext, 'reqId' | 'deadline'>,
) => Promise<Permissions | undefined>;

export interface MessagesDeps {
  store: MessageStore;
  sessions: SessionResolver;
  channelAccess: ChannelAccess;
  /** Messages kept per channel (config.messagesRetained). */
  retain: number;
  /** Longest message text in UTF-8 bytes (config.messageMaxBytes). */
  maxBytes: number;
  /** How long a post's idempotency key is kept, in ms (config.idempotencyTtlS). */
  keyTtlMs: number;
  /** Told of every message stored here, to announce it to the streams of every instance (./stream.ts). */
  onPosted?: (channel: string, message: StoredMessage) => void;
}

/** Longest part of a channel name echoed in an error message. */
const NAME_IN_ERROR_MAX = 64;
/** An idempotency key: 1 to 255 visible ASCII characters (as the gateway's Idempotency-Key). */
const KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * A ChannelAccess that remembers, and the cache it keeps (lib/fanout.ts `LocalWatchers`): told
 * of each change of a channel's permissions (`invalidate`), and fenced off while it cannot be
 * told (then every lookup asks, nothing is kept).
 */
export type AccessCache = ChannelAccess & LocalWatchers<string>;

/**
 * `check` with the permissions of the channels it found remembered `ttlMs` at most (channels are
 * never deleted, docs/API-LEGACY.md "Channels", but their permissions change: with a shared
 * backend each change is announced to `invalidate`, which drops the channel at once; in memory a
 * change is seen within `ttlMs`, which Channels waits out before it answers the change). `ttlMs`
 * counts from when the lookup started, not from its answer: a lookup that read the channel before
 * a change is forgotten `ttlMs` after the change at the latest. Absent channels are not kept — one
 * may be created a moment later. Concurrent lookups of one name share a single call, unless the name was invalidated
 * since it started (a lookup that started before a change neither answers a later one nor is kept).
 */
export function cacheAccess(check: ChannelAccess, ttlMs = CHANNEL_ACCESS_CACHE_MS, now = Date.now): AccessCache {
  const known = new Map<string, { permissions: Permissions; until: number }>();
  const inFlight = new Map<string, Promise<Permissions | undefined>>();
  /** Why nothing is kept now (undefined: the cache is on). */
  let fenced: string | undefined;
  /** Moves at every invalidation: a lookup started before one keeps nothing. */
  let epoch = 0;
  const access: ChannelAccess = (channel, ctx) => {
    const hit = fenced === undefined ? known.get(channel) : undefined;
    if (hit !== undefined && hit.until > now()) return Promise.resolve(hit.permissions);
    let pending = fenced === undefined ? inFlight.get(channel) : undefined;
    if (pending === undefined) {
      const started = epoch;
      const startedAt = now();
      pending = check(channel, ctx).then((permissions) => {
        if (epoch !== started) return permissions;
        if (permissions !== undefined && fenced === undefined)
          known.set(channel, { permissions, until: startedAt + ttlMs });
        else known.delete(channel);
        return permissions;
      });
      const asked = pending;
      const forget = (): void => {
        if (inFlight.get(channel) === asked) inFlight.delete(channel);
      };
      asked.then(forget, forget);
      if (fenced === undefined) inFlight.set(channel, asked);
    }
    return pending;
  };
  return Object.assign(access, {
    invalidate: async (channels: readonly string[]): Promise<void> => {
      epoch++;
      for (const name of channels) {
        known.delete(name);
        inFlight.delete(name);
      }
    },
    fence: (on: boolean, reason: string): void => {
      if (!on) return void (fenced = undefined);
      if (fenced === undefined) {
        epoch++;
        known.clear();
        inFlight.clear();
      }
      fenced = reason;
    },
  });
}

/**
 * The handler table of `Messages`. Each call checks, in this order: the session, the
 * arguments, then the channel, so a bad key always reads as a bad key. A channel the caller
 * may not read is answered as absent (AGORA_ERR_CHANNEL_NOT_FOUND); a post to one it may read
 * but not write is AGORA_ERR_FORBIDDEN.
 * - Post: the message must be a string of 1..maxBytes UTF-8 bytes (whitespace counts);
 *   answers the new id (per channel, from 1, no gaps) and the message's last_modified. With an
 *   idempotency key, a key the store already holds for the channel and the caller's username
 *   answers the message it was given, and nothing is stored (a retry after
 *   AGORA_ERR_STORE_OUTCOME_UNKNOWN posts once). With check_last_modified (or check_last), only
 *   if the channel is still at that last_modified (or last id): else AGORA_ERR_MESSAGE_STALE.
 * - Last: the last id given in the channel and its message's last_modified, 0 when it has none.
 * - Retrieve: the retained messages with first <= id <= last, in id order. Bounds are
 *   clamped to what is retained, so negative or huge bounds are fine; first > last answers
 *   an empty list. Bounds must be safe integers (AGORA_ERR_RPC_BAD_PARAMS otherwise).
 */
export function buildMessagesHandlers(deps: MessagesDeps): Omit<Implementation<MessagesDefinition>, 'Stream'> {
  const packed = new PackedItems('messages', loadProto('messages.proto').agora.Message.type, messageOf);
  /** The permissions of channel `name`, which `username` may read (else as absent). */
  const channel = async (name: string, username: string, ctx: RpcContext): Promise<Permissions> => {
    const permissions = typeof name !== 'string' || name.length === 0 ? undefined : await deps.channelAccess(name, ctx);
    if (permissions === undefined || !canRead(permissions, principalsOf(username)))
      throw new AgoraError('AGORA_ERR_CHANNEL_NOT_FOUND', [quote(name)]);
    return permissions;
  };
  return {
    Post: async (request, ctx) => {
      const username = await deps.sessions.resolve(request.sesskey, ctx);
      checkMessage(request.message, deps.maxBytes);
      const key = keyOf(request.idempotency_key, deps.keyTtlMs);
      const permissions = await channel(request.channel, username, ctx);
      if (!canWrite(permissions, principalsOf(username)))
        throw new AgoraError('AGORA_ERR_FORBIDDEN', ['post to channel', quote(request.channel)]);
      const posted = ({
        messageid,
        lastModified,
        announced,
      }: Appended): { messageid: number; last_modified: number } => {
        // The store may have announced it itself, with the message's commit.
        if (announced !== true)
          deps.onPosted?.(request.channel, { messageid, username, message: request.message, lastModified });
        return { messageid, last_modified: lastModified };
      };
      const expect = expectOf(request);
      if (expect === undefined)
        return posted(await deps.store.append(request.channel, username, request.message, deps.retain, key));
      const appended = await deps.store.appendIf(request.channel, username, request.message, deps.retain, expect, key);
      if (appended !== undefined) return posted(appended);
      const now = await deps.store.last(request.channel);
      const [expected, found] =
        'lastId' in expect ? [expect.lastId, now.messageid] : [expect.lastModified, now.lastModified];
      throw staleError('AGORA_ERR_MESSAGE_STALE', [quote(request.channel), expected], found);
    },
    Last: async (request, ctx) => {
      await channel(request.channel, await deps.sessions.resolve(request.sesskey, ctx), ctx);
      const { messageid, lastModified } = await deps.store.last(request.channel);
      return { messageid, last_modified: lastModified };
    },
    Retrieve: async (request, ctx) => {
      const username = await deps.sessions.resolve(request.sesskey, ctx);
      checkBound('first', request.first);
      checkBound('last', request.last);
      await channel(request.channel, username, ctx);
      if (request.first > request.last) return { messages: [] };
      const stored = await deps.store.range(request.channel, request.first, request.last);
      // On the bus, each message's encoding made once and kept while the store returns that message's object.
      return withBusPacked({ messages: stored.map(messageOf) }, () => packed.pack(stored));
    },
  };
}

/**
 * The `Messages` service as lib/rpc serves it; with `hub`, its posts are announced to it and
 * its gRPC-only `Stream` is served (./stream.ts).
 */
export function buildMessagesService(deps: MessagesDeps, hub?: MessageStreamHub): ServiceImpl<MessagesDefinition> {
  const onPosted =
    deps.onPosted ?? (hub === undefined ? undefined : (channel: string, m: StoredMessage) => hub.announce(channel, m));
  return {
    name: 'Messages',
    definition: loadProto('messages.proto').agora.Messages.service,
    // Stream, a server stream, is gRPC's only (grpcOnly), as Routes' Watch is.
    handlers: buildMessagesHandlers({ ...deps, onPosted }) as Implementation<MessagesDefinition>,
    grpcOnly: hub === undefined ? undefined : { Stream: (call: StreamCall) => hub.attach(call) },
  };
}

/** A stored message as the proto's `Message`, its fields in field order. */
function messageOf(m: StoredMessage): Message__Output {
  return { messageid: m.messageid, username: m.username, message: m.message, last_modified: m.lastModified };
}

/** What a post expects the channel to be at: its last message's last_modified, or its last id; undefined: nothing. */
function expectOf(request: {
  check_last: boolean;
  expected_last: number;
  check_last_modified: boolean;
  expected_last_modified: number;
}): AppendExpect | undefined {
  if (request.check_last_modified) return { lastModified: request.expected_last_modified };
  return request.check_last ? { lastId: request.expected_last } : undefined;
}

/** A message is a non-empty string of at most `maxBytes` bytes once UTF-8 encoded. */
function checkMessage(message: unknown, maxBytes: number): void {
  if (typeof message !== 'string') throw new AgoraError('AGORA_ERR_MESSAGE_INVALID', ['the message must be a string']);
  if (message.length === 0) throw new AgoraError('AGORA_ERR_MESSAGE_INVALID', ['the message is empty']);
  // Counting bytes costs a pass over the text; skip it when even 3 bytes per UTF-16 unit
  // (the most UTF-8 needs: a surrogate pair takes 4 bytes for 2 units) would fit.
  if (message.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(message, 'utf8');
    if (bytes > maxBytes) throw new AgoraError('AGORA_ERR_MESSAGE_TOO_LONG', [bytes, maxBytes]);
  }
}

/** The store's key of a post's `idempotency_key` (empty or absent: none); AGORA_ERR_IDEMPOTENCY_KEY_INVALID if bad. */
function keyOf(key: unknown, ttlMs: number): AppendKey | undefined {
  if (key === undefined || key === '') return undefined;
  if (typeof key !== 'string' || !KEY.test(key))
    throw new AgoraError('AGORA_ERR_IDEMPOTENCY_KEY_INVALID', [
      'a key is 1 to 255 visible ASCII characters (no spaces)',
    ]);
  return { key, now: Date.now(), ttlMs };
}

/**
 * Message ids are integers: the gateway refuses anything else, and the bus's protobuf check
 * refuses non-integers, but gRPC's int64 decoding turns 1.5 into 1 and a too-large number
 * into an inexact one — so the handler checks again and says which bound is wrong.
 */
function checkBound(name: 'first' | 'last', value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new AgoraError('AGORA_ERR_RPC_BAD_PARAMS', [`${name} must be an integer between -(2^53-1) and 2^53-1`]);
  }
}

function quote(name: unknown): string {
  if (typeof name !== 'string') return String(name);
  return JSON.stringify(name.length > NAME_IN_ERROR_MAX ? `${name.slice(0, NAME_IN_ERROR_MAX)}…` : name);
}
