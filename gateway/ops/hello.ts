/**
 * The hello (the Cliquet/Kinto protocol's root view), at `GET /v1/` and `GET /`: what this
 * server is, which protocol it speaks, its public settings and capabilities, its end of
 * service (`eos`) when one is set, and, with credentials (hooks/auth.ts), who the caller is
 * (`user`: Kinto's account id and principals). Settings and capabilities are registered, in the order the hello
 * lists them, on the instance's registry `app.hello` (gateway/app.ts registers them):
 * `app.hello.capability('batch', {description, url})`, `app.hello.setting('batch_max_requests', 25)`.
 */
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AgoraError } from '../../lib/errors';
import type { BuildInfo } from '../../lib/build-info';
import type { BusCaller } from '../../lib/bus/client';
import { callBus } from '../v1/scope';
import { OPS } from './route-config';
import { accountOf, principalsOf } from '../../lib/permissions';

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
  /** The end of service (AGORA_EOS), listed as `eos`; empty: none. */
  eos: string;
}

/** Where the /v1 protocol's hello is served, beside `GET /`. */
export const V1_HELLO_PATH = '/v1/';

/** `https://host/` as the client reached it, or the configured public URL. */
export function baseUrl(request: FastifyRequest, publicUrl: string): string {
  const base = publicUrl !== '' ? publicUrl : `${request.protocol}://${request.host}`;
  return base.endsWith('/') ? base : `${base}/`;
}

/** The documentation's URL (the hello's `project_docs`). */
export function docsUrl(request: FastifyRequest, publicUrl: string): string {
  return `${baseUrl(request, publicUrl)}v1/docs`;
}

/** The caller as Kinto names it: the account's id and the principals it holds. */
export interface HelloUser {
  id: string;
  principals: string[];
}

/** The principals are those the services judge permissions with (lib/permissions.ts). */
export function helloUser(username: string): HelloUser {
  return { id: accountOf(username), principals: principalsOf(username) };
}

const HELLO_SCHEMA = {
  tags: ['ops'],
  summary: 'What this server is, its settings and capabilities, and who the caller is',
  headers: {
    type: 'object',
    properties: {
      authorization: {
        type: 'string',
        description: 'Bearer <session key> or Basic <base64 of username:password> (optional): adds `user`',
      },
    },
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
        eos: { type: 'string', description: 'The end of service (AGORA_EOS), when one is set.' },
        settings: { type: 'object', additionalProperties: true },
        capabilities: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            properties: { description: { type: 'string' }, url: { type: 'string' } },
          },
        },
        user: {
          type: 'object',
          properties: { id: { type: 'string' }, principals: { type: 'array', items: { type: 'string' } } },
        },
      },
    },
  },
} as const;

export const hello = fp<HelloOptions>(
  async (app, options) => {
    const registry = app.hello;
    const whoami = async (request: FastifyRequest): Promise<HelloUser | undefined> => {
      // Anonymous without the header; a malformed one is refused like on /v1 (hooks/auth.ts).
      if (request.headers.authorization === undefined) return undefined;
      const sesskey = await app.authenticator.sessionOf(request);
      const { username } = await callBus(options, request, 'Auth', 'Resolve', { sesskey }, true);
      if (typeof username !== 'string') throw new AgoraError('AGORA_ERR_BUS_BAD_REPLY', ['Auth.Resolve']);
      return helloUser(username);
    };

    const answer = async (request: FastifyRequest, url: string) => {
      const user = await whoami(request);
      return {
        project_name: options.build.name,
        project_version: options.build.version,
        http_api_version: HTTP_API_VERSION,
        project_docs: docsUrl(request, options.publicUrl),
        url,
        ...(options.eos === '' ? {} : { eos: options.eos }),
        settings: registry.settings,
        capabilities: registry.capabilities,
        ...(user === undefined ? {} : { user }),
      };
    };
    app.get('/', { config: OPS, schema: HELLO_SCHEMA }, async (request) =>
      answer(request, baseUrl(request, options.publicUrl)),
    );
    // The /v1 protocol's root, where a Kinto client looks (its `url` is the API's root).
    app.get(V1_HELLO_PATH, { config: OPS, schema: HELLO_SCHEMA }, async (request) =>
      answer(request, `${baseUrl(request, options.publicUrl)}v1/`),
    );
  },
  { name: 'agora-hello', decorators: { fastify: ['hello', 'authenticator'] } },
);
