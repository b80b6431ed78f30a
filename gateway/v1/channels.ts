/**
 * /v1/channels: list (Channels.List), create (Channels.Create: 201, or 200 when it existed)
 * and read one (Channels.Get). A channel is a record `{id, name, last_modified}` (v1/record.ts),
 * its id its name, stamped at its create; the list is filtered, sorted and paged by
 * v1/listing.ts, its ETag the timestamp of its last create.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { checkIfNoneMatch, ifMatchVersion, versionCheck, versionTag } from './conditional';
import { answerList, listQuerySchema, listResponse, type ListSpec } from './listing';
import { answerRecord, RECORD_QUERY, recordResponse, sendRecord, withExisting } from './record';
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

export const channelRoutes: FastifyPluginAsync<V1Options> = async (app, options) => {
  v1Scope(app);

  /** The channel list and its version (its timestamp, the ETag), read together. */
  const all = async (request: FastifyRequest): Promise<{ channels: Rec[]; version: number }> => {
    const reply = await callBus(options, request, 'Channels', 'List', { sesskey: request.sesskey }, true);
    const names = Array.isArray(reply.channels) ? reply.channels.map(String) : [];
    const stamps = Array.isArray(reply.last_modified) ? reply.last_modified.map(Number) : [];
    return { channels: names.map((n, i) => channelOf(n, stamps[i] ?? 0)), version: Number(reply.version) };
  };
  const one = async (request: FastifyRequest, name: string): Promise<Rec> => {
    const r = await callBus(options, request, 'Channels', 'Get', { sesskey: request.sesskey, channel: name }, true);
    return channelOf(String(r.channel), Number(r.last_modified));
  };

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
      summary: 'Create a channel (200 when it exists already)',
      body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: NAME } },
      response: { 200: recordResponse(CHANNEL), 201: recordResponse(CHANNEL), ...errorResponses(412, 413, 415) },
    }),
    async (request, reply) => {
      const { name } = request.body as { name: string };
      const existing = async (): Promise<Rec | undefined> => one(request, name).catch(() => undefined);
      return withExisting(async () => {
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
        const channel = channelOf(name, Number(r.last_modified));
        // The create changed nothing when the channel existed, so refusing it afterwards is exact.
        if (r.created !== true) checkIfNoneMatch(request, versionTag(Number(r.last_modified)));
        if (r.created === true) reply.header('location', `/v1/channels/${name}`);
        return sendRecord(reply, r.created === true ? 201 : 200, channel);
      }, existing);
    },
  );

  app.get(
    '/channels/:name',
    sessionRoute('channels', {
      summary: 'One channel',
      params: { type: 'object', required: ['name'], properties: { name: NAME } },
      querystring: RECORD_QUERY,
      response: { 200: recordResponse(CHANNEL), ...errorResponses(404) },
    }),
    async (request, reply) =>
      answerRecord(request, reply, await one(request, (request.params as { name: string }).name)),
  );
};
