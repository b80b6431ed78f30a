/** `GET /__version__` (seed 003; Kinto, Dockerflow): name, version, commit, source. */
import fp from 'fastify-plugin';
import type { VersionInfo } from '../../lib/version';

export interface VersionOptions {
  version: VersionInfo;
}

export const versionRoute = fp<VersionOptions>(async (app, options) => {
  const body = Object.freeze({ ...options.version });
  app.get('/__version__', { config: { shed: false, rateLimit: false } }, async () => body);
}, { name: 'agora-version' });
