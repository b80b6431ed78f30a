/**
 * /v1/channels: list (Channels.List: those the caller may read), create (Channels.Create: 201,
 * or 200 when it existed), read one (Channels.Get) and change its permissions (PATCH,
 * Channels.SetPermissions). The list is filtered, sorted and paged by v1/listing.ts; a single
 * channel is answered with its permissions (v1/permissions.ts).
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import {
  checkIfMatch,
  checkIfNoneMatch,
  etagOf,
  ifMatchVersion,
  notModified,
  versionCheck,
  versionTag,
} from './conditional';
import { answerList, listQuerySchema, listResponse, type ListSpec } from './listing';
import {
  createPermissions,
  PATCH_PERMISSIONS_BODY,
  PERMISSIONS_BODY,
  patchPermissions,
  withPermissions,
  withPermissionsSchema,
} from './permissions';
import { callBus, created, errorResponses, sessionRoute, v1Scope, type Rec, type V1Options } from './scope';

/** A channel as /v1 shows it. */
const CHANNEL = { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } as const;

/** The rule of services/channels (CHANNEL_NAME), repeated as a schema so 400 comes before any call. */
const NAME = {
  type: 'string',
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9_-][A-Za-z0-9_.-]*$',
  description: 'Letters, digits, _ - and . (not first).',
} as const;

export const CHANNELS_LIST: ListSpec = { fields: { name: 'string' }, id: 'name', defaultSort: ['name'] };

const channelOf = (name: string): Rec => ({ name });

/** A channel as a single-record answer shows it: with its permissions. */
const ONE_CHANNEL = withPermissionsSchema(CHANNEL);

/** The single-record answer of a Channels reply (`{channel, permissions}`). */
const oneChannel = (reply: Rec): Rec => withPermissions(channelOf(String(reply.channel)), reply.permissions);

const NAME_PARAMS = { type: 'object', required: ['name'], properties: { name: NAME } } as const;

export const channelRoutes: FastifyPluginAsync<V1Options> = async (app, options) => {
  v1Scope(app);

  /** The channel list and its version (its ETag), read together. */
  const all = async (request: FastifyRequest): Promise<{ names: string[]; version: number }> => {
    const reply = await callBus(options, request, 'Channels', 'List', { sesskey: request.sesskey }, true);
    return { names: Array.isArray(reply.channels) ? reply.channels.map(String) : [], version: Number(reply.version) };
  };

  app.get(
    '/channels',
    sessionRoute('channels', {
      summary: 'List channels',
      querystring: listQuerySchema(CHANNELS_LIST, options.pageMaxRecords),
      response: { 200: listResponse(CHANNEL), ...errorResponses() },
    }),
    async (request, reply) => {
      const { names, version } = await all(request);
      return answerList(
        request,
        reply,
        names.map(channelOf),
        CHANNELS_LIST,
        options.pageMaxRecords,
        versionTag(version),
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
      const body = oneChannel({ ...r, channel: name });
      const etag = etagOf(body);
      // The create changed nothing when the channel existed, so refusing it afterwards is exact.
      if (r.created !== true) checkIfNoneMatch(request, etag);
      reply.header('etag', etag);
      return created(reply, r.created === true, `/v1/channels/${name}`).send(body);
    },
  );

  app.get(
    '/channels/:name',
    sessionRoute('channels', {
      summary: 'One channel the caller may read, with its permissions',
      params: NAME_PARAMS,
      response: { 200: ONE_CHANNEL, ...errorResponses(404) },
    }),
    async (request, reply) => {
      const { name } = request.params as { name: string };
      const r = await callBus(options, request, 'Channels', 'Get', { sesskey: request.sesskey, channel: name }, true);
      const channel = oneChannel(r);
      if (notModified(request, reply, etagOf(channel))) return reply;
      return channel;
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
      const ask = (method: string, params: Rec, idempotent: boolean): Promise<Rec> =>
        callBus(
          options,
          request,
          'Channels',
          method,
          { sesskey: request.sesskey, channel: name, ...params },
          idempotent,
        );
      // A channel has no version to compare as it is written: the conditions are checked on what is read first.
      if (request.headers['if-match'] !== undefined || request.headers['if-none-match'] !== undefined) {
        const current = etagOf(oneChannel(await ask('Get', {}, true)));
        checkIfMatch(request, current);
        checkIfNoneMatch(request, current);
      }
      const channel = oneChannel(await ask('SetPermissions', patchPermissions(permissions), true));
      return reply.header('etag', etagOf(channel)).send(channel);
    },
  );
};
