/**
 * /v1/channels/{name}/messages: list (Messages.Retrieve over everything retained, then
 * filtered, sorted and paged by v1/listing.ts, `_since`/`_before` on the store's `last_modified`),
 * post (Messages.Post → 201) and read one (Messages.Retrieve of [id, id]). A message is a record
 * `{data, permissions}` (v1/record.ts) whose id is its messageid and whose ETag is its
 * `last_modified`; the list's ETag and Last-Modified are the collection's timestamp, the newest
 * message's `last_modified` ("0" for a channel with none), so `If-Match` (or
 * `If-Unmodified-Since`) on a post means "nobody posted since I read", which Messages compares as
 * it appends. A post's Idempotency-Key goes to Messages too, whose store records it with the
 * message: a retry after an unknown outcome (a 5xx the idempotency hook does not keep) answers
 * the message already posted.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { AgoraError } from '../../lib/errors';
import { KEY_HEADER, parseKey } from '../hooks/idempotency';
import { ifMatchVersion } from './conditional';
import { answerList, listQuerySchema, listResponse, type ListSpec } from './listing';
import { answerRecord, RECORD_QUERY, recordResponse, sendRecord, withExisting } from './record';
import { callBus, errorResponses, sessionRoute, v1Scope, type Rec, type V1Options } from './scope';

const SAFE = Number.MAX_SAFE_INTEGER;

const MESSAGE = {
  type: 'object',
  // Nothing required: `_fields` may leave any field out.
  properties: {
    id: { type: 'string', description: 'its messageid, as text' },
    messageid: { type: 'integer' },
    username: { type: 'string' },
    message: { type: 'string' },
    last_modified: { type: 'integer' },
  },
} as const;

const CHANNEL_PARAM = { name: { type: 'string', minLength: 1, maxLength: 64 } } as const;

export const MESSAGES_LIST: ListSpec = {
  fields: { id: 'string', messageid: 'integer', username: 'string', message: 'string', last_modified: 'integer' },
  id: 'messageid',
  defaultSort: ['messageid'],
  since: 'last_modified',
};

/** A stored message as the /v1 protocol answers it, with the store's `last_modified` (ms since the epoch). */
function messageOf(m: Rec): Rec {
  const messageid = Number(m.messageid);
  return {
    id: String(messageid),
    messageid,
    username: String(m.username),
    message: String(m.message),
    last_modified: Number(m.last_modified),
  };
}

export const messageRoutes: FastifyPluginAsync<V1Options> = async (app, options) => {
  v1Scope(app);

  const retrieve = async (request: FastifyRequest, channel: string, first: number, last: number): Promise<Rec[]> => {
    const r = await callBus(
      options,
      request,
      'Messages',
      'Retrieve',
      { sesskey: request.sesskey, channel, first, last },
      true,
    );
    return Array.isArray(r.messages) ? (r.messages as Rec[]).map(messageOf) : [];
  };

  app.get(
    '/channels/:name/messages',
    sessionRoute('messages', {
      summary: 'List the retained messages of a channel',
      params: { type: 'object', required: ['name'], properties: CHANNEL_PARAM },
      querystring: listQuerySchema(MESSAGES_LIST, options.pageMaxRecords),
      response: { 200: listResponse(MESSAGE), ...errorResponses(404) },
    }),
    async (request, reply) => {
      const { name } = request.params as { name: string };
      const all = await retrieve(request, name, 1, SAFE);
      // In id order, so the newest message's stamp is the collection's timestamp.
      const lastModified = all.length === 0 ? 0 : Number(all[all.length - 1].last_modified);
      return answerList(request, reply, { records: all, lastModified }, MESSAGES_LIST, options.pageMaxRecords);
    },
  );

  app.post(
    '/channels/:name/messages',
    sessionRoute('messages', {
      summary: 'Post a message',
      params: { type: 'object', required: ['name'], properties: CHANNEL_PARAM },
      body: {
        type: 'object',
        required: ['message'],
        additionalProperties: false,
        properties: { message: { type: 'string', minLength: 1 } },
      },
      response: { 201: recordResponse(MESSAGE), ...errorResponses(404, 412, 413, 415) },
    }),
    async (request, reply) => {
      const { name } = request.params as { name: string };
      const { message } = request.body as { message: string };
      const post: Record<string, unknown> = { sesskey: request.sesskey, channel: name, message };
      // Messages compares the list's timestamp If-Match names as it appends, atomically: a post
      // landing first makes this one AGORA_ERR_MESSAGE_STALE (412) instead of slipping past a check.
      const version = async (): Promise<number> =>
        Number(
          (await callBus(options, request, 'Messages', 'Last', { sesskey: request.sesskey, channel: name }, true))
            .last_modified,
        );
      // Nothing is overwritten by a post: a 412 shows no existing record.
      return withExisting(
        async () => {
          const expected = await ifMatchVersion(request, version);
          if (expected !== undefined)
            Object.assign(post, { check_last_modified: true, expected_last_modified: expected });
          const header = request.headers[KEY_HEADER];
          if (header !== undefined) {
            const key = parseKey(header);
            if (key instanceof AgoraError) throw key;
            post.idempotency_key = key;
          }
          const r = await callBus(options, request, 'Messages', 'Post', post, false);
          const id = Number(r.messageid);
          reply.header('location', `/v1/channels/${name}/messages/${id}`);
          const data = { id: String(id), messageid: id, message, last_modified: Number(r.last_modified) };
          return sendRecord(reply, 201, data);
        },
        async () => undefined,
      );
    },
  );

  app.get(
    '/channels/:name/messages/:id',
    sessionRoute('messages', {
      summary: 'One message',
      params: {
        type: 'object',
        required: ['name', 'id'],
        properties: { ...CHANNEL_PARAM, id: { type: 'integer', minimum: 1, maximum: SAFE } },
      },
      querystring: RECORD_QUERY,
      response: { 200: recordResponse(MESSAGE), ...errorResponses(404) },
    }),
    async (request, reply) => {
      const { name, id } = request.params as { name: string; id: number };
      const [found] = await retrieve(request, name, id, id);
      if (found === undefined) throw new AgoraError('AGORA_ERR_MESSAGE_NOT_FOUND', [id, JSON.stringify(name)]);
      return answerRecord(request, reply, found);
    },
  );
};
