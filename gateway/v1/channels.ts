/**
 * /v1/channels: list (Channels.List), create (Channels.Create: 201, or 200 when it existed)
 * and read one (Channels.Get). The list is filtered, sorted and paged by v1/listing.ts.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { checkIfNoneMatch, etagOf, ifMatchVersion, notModified, versionCheck, versionTag } from './conditional';
import { answerList, listQuerySchema, listResponse, type ListSpec } from './listing';
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
      summary: 'Create a channel (200 when it exists already)',
      body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: NAME } },
      response: { 200: CHANNEL, 201: CHANNEL, ...errorResponses(412, 413, 415) },
    }),
    async (request, reply) => {
      const { name } = request.body as { name: string };
      // If-Match names a version of the list (the collection this creates into), which Channels
      // compares in the same atomic step as the insert; If-None-Match names the channel.
      const expected = await ifMatchVersion(request, async () => (await all(request)).version);
      const r = await callBus(
        options,
        request,
        'Channels',
        'Create',
        { sesskey: request.sesskey, channel: name, ...versionCheck(expected) },
        expected === undefined,
      );
      const etag = etagOf(channelOf(name));
      // The create changed nothing when the channel existed, so refusing it afterwards is exact.
      if (r.created !== true) checkIfNoneMatch(request, etag);
      reply.header('etag', etag);
      return created(reply, r.created === true, `/v1/channels/${name}`).send(channelOf(name));
    },
  );

  app.get(
    '/channels/:name',
    sessionRoute('channels', {
      summary: 'One channel',
      params: { type: 'object', required: ['name'], properties: { name: NAME } },
      response: { 200: CHANNEL, ...errorResponses(404) },
    }),
    async (request, reply) => {
      const { name } = request.params as { name: string };
      const r = await callBus(options, request, 'Channels', 'Get', { sesskey: request.sesskey, channel: name }, true);
      const channel = channelOf(String(r.channel));
      if (notModified(request, reply, etagOf(channel))) return reply;
      return channel;
    },
  );
};
