/**
 * /v1/channels: list (Channels.List: those the caller may read), create (Channels.Create: 201,
 * or 200 when it existed), read one (Channels.Get) and change its permissions (PATCH,
 * Channels.SetPermissions). A channel is a record `{id, name, last_modified}` (v1/record.ts), its
 * id its name, answered with its permissions (v1/permissions.ts) and stamped at its create and at
 * each change of its permissions; the list is filtered, sorted and paged by v1/listing.ts, its
 * ETag the timestamp of its last write.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { checkIfNoneMatch, ifMatchVersion, versionCheck, versionTag, writeVersion } from './conditional';
import { answerList, listQuerySchema, listResponse, type ListSpec } from './listing';
import {
  createPermissions,
  PATCH_PERMISSIONS_BODY,
  PERMISSIONS_BODY,
  PERMISSIONS_SCHEMA,
  patchPermissions,
  permissionsOf,
} from './permissions';
import { answerRecord, type Permissions, RECORD_QUERY, recordResponse, sendRecord, withExisting } from './record';
import { callBus, errorResponses, sessionRoute, v1Scope, type Rec, type V1Options } from './scope';

const TIMESTAMP = {
  type: 'integer',
  description: 'ms since the epoch: the timestamp of its last write; its ETag is this number, quoted',
} as const;

/** A channel as /v1 shows it. */
const CHANNEL = {
  type: 'object',
  // Nothing required: `_fields` may leave any field out.
  properties: { id: { type: 'string' }, name: { type: 'string' }, last_modified: TIMESTAMP },
} as const;

/** The rule of services/channels (CHANNEL_NAME), repeated as a schema so 400 comes before any call. */
const NAME = {
  type: 'string',
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9_-][A-Za-z0-9_.-]*$',
  description: 'Letters, digits, _ - and . (not first).',
} as const;

export const CHANNELS_LIST: ListSpec = {
  fields: { id: 'string', name: 'string', last_modified: 'integer' },
  id: 'name',
  defaultSort: ['name'],
  since: 'last_modified',
};

const channelOf = (name: string, lastModified: number): Rec => ({ id: name, name, last_modified: lastModified });

/** A channel as a single-record answer shows it: `{data, permissions}`. */
const ONE_CHANNEL = recordResponse(CHANNEL, PERMISSIONS_SCHEMA);

/** A Channels reply (`{channel, permissions, last_modified}`) as a record and its permissions. */
const oneChannel = (reply: Rec): { data: Rec; permissions: Permissions } => ({
  data: channelOf(String(reply.channel), Number(reply.last_modified)),
  permissions: permissionsOf(reply),
});

const NAME_PARAMS = { type: 'object', required: ['name'], properties: { name: NAME } } as const;

/** The reads of the channels routes from Channels, each with the caller's session. */
function channelReads(options: V1Options) {
  /** The channel list and its version (its timestamp, the ETag), read together. */
  const all = async (request: FastifyRequest): Promise<{ channels: Rec[]; version: number }> => {
    const reply = await callBus(options, request, 'Channels', 'List', { sesskey: request.sesskey }, true);
    const names = Array.isArray(reply.channels) ? reply.channels.map(String) : [];
    const stamps = Array.isArray(reply.last_modified) ? reply.last_modified.map(Number) : [];
    return { channels: names.map((n, i) => channelOf(n, stamps[i] ?? 0)), version: Number(reply.version) };
  };
  const one = async (request: FastifyRequest, name: string): Promise<{ data: Rec; permissions: Permissions }> =>
    oneChannel(await callBus(options, request, 'Channels', 'Get', { sesskey: request.sesskey, channel: name }, true));
  return { all, one };
}

export const channelRoutes: FastifyPluginAsync<V1Options> = async (app, options) => {
  v1Scope(app);
  const { all, one } = channelReads(options);

  app.get(
    '/channels',
    sessionRoute('channels', {
      summary: 'List channels',
      querystring: listQuerySchema(CHANNELS_LIST, options.pageMaxRecords),
      response: { 200: listResponse(CHANNEL), ...errorResponses() },
    }),
    async (request, reply) => {
      const { channels, version } = await all(request);
      return answerList(
        request,
        reply,
        { records: channels, lastModified: version },
        CHANNELS_LIST,
        options.pageMaxRecords,
      );
    },
  );

  app.post(
    '/channels',
    sessionRoute('channels', {
      summary: 'Create a channel (200 when it exists already); without permissions it is public',
      body: {
        type: 'object',
        required: ['name'],
        additionalProperties: false,
        properties: { name: NAME, permissions: PERMISSIONS_BODY },
      },
      response: { 200: ONE_CHANNEL, 201: ONE_CHANNEL, ...errorResponses(403, 412, 413, 415) },
    }),
    async (request, reply) => {
      const { name, permissions } = request.body as { name: string; permissions?: Record<'read' | 'write', string[]> };
      const existing = async (): Promise<Rec | undefined> => (await one(request, name).catch(() => undefined))?.data;
      return withExisting(async () => {
        // If-Match names a version of the list (the collection this creates into), which Channels
        // compares in the same atomic step as the insert; If-None-Match names the channel.
        const expected = await ifMatchVersion(request, async () => (await all(request)).version);
        const r = await callBus(
          options,
          request,
          'Channels',
          'Create',
          { sesskey: request.sesskey, channel: name, ...versionCheck(expected), ...createPermissions(permissions) },
          expected === undefined,
        );
        const channel = oneChannel({ ...r, channel: name });
        // The create changed nothing when the channel existed, so refusing it afterwards is exact.
        if (r.created !== true) checkIfNoneMatch(request, versionTag(Number(r.last_modified)));
        if (r.created === true) reply.header('location', `/v1/channels/${name}`);
        return sendRecord(reply, r.created === true ? 201 : 200, channel.data, channel.permissions);
      }, existing);
    },
  );

  app.get(
    '/channels/:name',
    sessionRoute('channels', {
      summary: 'One channel the caller may read, with its permissions',
      params: NAME_PARAMS,
      querystring: RECORD_QUERY,
      response: { 200: ONE_CHANNEL, ...errorResponses(404) },
    }),
    async (request, reply) => {
      const { data, permissions } = await one(request, (request.params as { name: string }).name);
      return answerRecord(request, reply, data, permissions);
    },
  );

  app.patch(
    '/channels/:name',
    sessionRoute('channels', {
      summary: "Change a channel's permissions (each kind given is replaced); write on it required",
      params: NAME_PARAMS,
      body: PATCH_PERMISSIONS_BODY,
      response: { 200: ONE_CHANNEL, ...errorResponses(403, 404, 412, 413, 415) },
    }),
    async (request, reply) => {
      const { name } = request.params as { name: string };
      const { permissions } = request.body as { permissions: Record<'read' | 'write', string[]> };
      const existing = async (): Promise<Rec | undefined> => (await one(request, name)).data;
      return withExisting(async () => {
        // If-Match (or If-Unmodified-Since) names the version Channels compares in the same atomic
        // step as the write; If-None-Match is checked here against the version read now.
        const expected = await writeVersion(request, async () => Number((await one(request, name)).data.last_modified));
        const params = { sesskey: request.sesskey, channel: name, ...patchPermissions(permissions) };
        const check = versionCheck(expected);
        // With a version to compare, a retry after a lost reply would be refused as stale: not idempotent then.
        const r = await callBus(
          options,
          request,
          'Channels',
          'SetPermissions',
          { ...params, ...check },
          !check.check_version,
        );
        const channel = oneChannel(r);
        return sendRecord(reply, 200, channel.data, channel.permissions);
      }, existing);
    },
  );
};
