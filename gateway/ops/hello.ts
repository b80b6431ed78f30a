/**
 * `GET /` hello (the Cliquet/Kinto protocol's root view): what this server is, which protocol it
 * speaks, its public settings and capabilities, and, with `Authorization: Bearer <session
 * key>`, who the caller is. Settings and capabilities are registered, in the order the hello
 * lists them, on the instance's registry `app.hello` (gateway/app.ts registers them):
 * `app.hello.capability('batch', {description, url})`, `app.hello.setting('batch_max_requests', 25)`.
 */
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AgoraError } from '../../lib/errors';
import type { BuildInfo } from '../../lib/build-info';
import type { BusCaller } from '../../lib/bus/client';
import { parseBearer } from '../hooks/auth';
import { callBus } from '../v1/scope';

/** The version of the `/v1` protocol (Kinto's `http_api_version`). */
export const HTTP_API_VERSION = '1.0';

export interface Capability {
  description: string;
  url: string;
}

/** The hello's settings and capabilities, listed in the order they were registered. */
export class HelloRegistry {
  readonly capabilities: Record<string, Capability> = {};
  readonly settings: Record<string, unknown> = {};

  capability(name: string, info: Capability): this {
    this.capabilities[name] = info;
    return this;
  }

  setting(name: string, value: unknown): this {
    this.settings[name] = value;
    return this;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** What the hello lists: decorated by gateway/app.ts before any plugin loads, so every plugin may add to it. */
    hello: HelloRegistry;
  }
}

export interface HelloOptions {
  bus: BusCaller;
  build: BuildInfo;
  /** The public URL; empty: from the request's protocol and Host. */
  publicUrl: string;
  /** Deadline of the Auth.Resolve call for the caller's identity. */
  timeoutMs: number;
}

/** `https://host/` as the client reached it, or the configured public URL. */
function baseUrl(request: FastifyRequest, publicUrl: string): string {
  const base = publicUrl !== '' ? publicUrl : `${request.protocol}://${request.host}`;
  return base.endsWith('/') ? base : `${base}/`;
}

const HELLO_SCHEMA = {
  tags: ['ops'],
  summary: 'What this server is, its settings and capabilities, and who the caller is',
  headers: {
    type: 'object',
    properties: { authorization: { type: 'string', description: 'Bearer <session key> (optional): adds `user`' } },
  },
  response: {
    200: {
      type: 'object',
      required: [
        'project_name',
        'project_version',
        'http_api_version',
        'project_docs',
        'url',
        'settings',
        'capabilities',
      ],
      properties: {
        project_name: { type: 'string' },
        project_version: { type: 'string' },
        http_api_version: { type: 'string' },
        project_docs: { type: 'string' },
        url: { type: 'string' },
        settings: { type: 'object', additionalProperties: true },
        capabilities: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            properties: { description: { type: 'string' }, url: { type: 'string' } },
          },
        },
        user: { type: 'object', properties: { id: { type: 'string' } } },
      },
    },
  },
} as const;

export const hello = fp<HelloOptions>(
  async (app, options) => {
    const registry = app.hello;
    const whoami = async (request: FastifyRequest): Promise<{ id: string } | undefined> => {
      // Anonymous without the header; a malformed one is refused like on /v1 (hooks/auth.ts).
      if (request.headers.authorization === undefined) return undefined;
      const key = parseBearer(request.headers.authorization);
      if (key instanceof AgoraError) throw key;
      const { username } = await callBus(options, request, 'Auth', 'Resolve', { sesskey: key }, true);
      if (typeof username !== 'string') throw new AgoraError('AGORA_ERR_BUS_BAD_REPLY', ['Auth.Resolve']);
      return { id: username };
    };

    app.get('/', { schema: HELLO_SCHEMA }, async (request) => {
      const user = await whoami(request);
      const url = baseUrl(request, options.publicUrl);
      return {
        project_name: options.build.name,
        project_version: options.build.version,
        http_api_version: HTTP_API_VERSION,
        project_docs: `${url}v1/docs`,
        url,
        settings: registry.settings,
        capabilities: registry.capabilities,
        ...(user === undefined ? {} : { user }),
      };
    });
  },
  { name: 'agora-hello', decorators: { fastify: ['hello'] } },
);
