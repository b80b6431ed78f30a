/**
 * `GET /__version__` and `GET /v1/__version__` (the Cliquet/Kinto protocol, Dockerflow): name,
 * version, commit, source.
 */
import fp from 'fastify-plugin';
import type { BuildInfo } from '../../lib/build-info';
import { OPS } from './route-config';

export interface VersionOptions {
  build: BuildInfo;
}

const VERSION_SCHEMA = {
  tags: ['ops'],
  summary: 'Name, version, commit and source of the running code',
  response: {
    200: {
      type: 'object',
      required: ['name', 'version', 'commit', 'source'],
      properties: {
        name: { type: 'string' },
        version: { type: 'string' },
        commit: { type: 'string' },
        source: { type: ['string', 'null'] },
      },
    },
  },
} as const;

export const versionRoute = fp<VersionOptions>(
  async (app, options) => {
    const body = Object.freeze({ ...options.build });
    for (const path of ['/__version__', '/v1/__version__'])
      app.get(path, { config: OPS, schema: VERSION_SCHEMA }, async () => body);
  },
  { name: 'agora-version' },
);
