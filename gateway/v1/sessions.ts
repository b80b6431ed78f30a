/**
 * /v1/sessions: log on (Auth.Logon → 201 with the session key), who am I (Auth.Resolve),
 * log off (Auth.Logoff → 204). The same bus methods as the legacy /logon and /logoff.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { notModified, versionCheck, versionTag, writeVersion } from './conditional';
import { callBus, errorResponses, sessionRoute, v1Scope, type V1Options } from './scope';

const SESSION = {
  type: 'object',
  required: ['session', 'username'],
  properties: {
    session: { type: 'integer', description: 'The session key: send it as Authorization: Bearer <session>.' },
    username: { type: 'string' },
    created: { type: 'boolean', description: 'The user was created by this logon (open registration).' },
    idle_s: { type: 'integer', description: 'Seconds without use after which the session expires.' },
  },
} as const;

const LOGON_BODY = {
  type: 'object',
  required: ['username', 'password'],
  additionalProperties: false,
  properties: {
    username: { type: 'string', minLength: 1, maxLength: 256 },
    password: { type: 'string', minLength: 1, maxLength: 1024 },
  },
} as const;

export const sessionRoutes: FastifyPluginAsync<V1Options> = async (app, options) => {
  v1Scope(app);

  const current = async (request: FastifyRequest) => {
    const who = await callBus(options, request, 'Auth', 'Resolve', { sesskey: request.sesskey }, true);
    const session = { session: request.sesskey, username: String(who.username), idle_s: Number(who.idle_s) };
    return { session, version: Number(who.version) };
  };

  app.post(
    '/sessions',
    {
      // Anonymous, and its answer is a session key, which no store should keep (docs/API-V1.md "Idempotency-Key").
      config: { noIdempotency: 'a logon is anonymous; retry it without a key (a second session is harmless)' },
      schema: {
        tags: ['sessions'],
        summary: 'Log on',
        body: LOGON_BODY,
        response: { 201: SESSION, ...errorResponses(413, 415) },
      },
    },
    async (request, reply) => {
      const { username, password } = request.body as { username: string; password: string };
      const r = await callBus(
        options,
        request,
        'Auth',
        'Logon',
        { username, password, client_addr: request.ip },
        false,
      );
      const session = { session: Number(r.sesskey), username: String(r.username), created: r.created === true };
      reply.header('etag', versionTag(Number(r.version))).header('location', '/v1/sessions/current');
      return reply.code(201).send(session);
    },
  );

  app.get(
    '/sessions/current',
    sessionRoute('sessions', {
      summary: 'The session of the Bearer key',
      response: { 200: SESSION, ...errorResponses() },
    }),
    async (request, reply) => {
      const { session, version } = await current(request);
      if (notModified(request, reply, versionTag(version))) return reply;
      return session;
    },
  );

  app.delete(
    '/sessions/current',
    sessionRoute('sessions', {
      summary: 'Log off',
      response: { 204: { type: 'null', description: 'Logged off.' }, ...errorResponses(412) },
    }),
    async (request, reply) => {
      // Auth compares the version If-Match names as it deletes the session (one atomic step).
      // A session's version is a counter, not a timestamp: If-Unmodified-Since does not apply.
      const expected = await writeVersion(request, async () => (await current(request)).version, false);
      await callBus(options, request, 'Auth', 'Logoff', { sesskey: request.sesskey, ...versionCheck(expected) }, false);
      // A Basic credential's session has ended: the next request with it logs on again.
      app.authenticator.forget(request);
      return reply.code(204).send();
    },
  );
};
