/**
 * Swagger UI (gateway/ops/openapi.ts) is loaded at the first request under /v1/docs, not when the
 * gateway is built; then it answers as before: its page, its static files, the document as JSON.
 * This file imports nothing else that would load it, so require.cache tells.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApp } from '../../gateway/app';
import { DOCS_PREFIX } from '../../gateway/ops/openapi';
import { createLogger } from '../../lib/log';

const CONFIG = { busMaxBodyBytes: 1_048_576, requestTimeoutMs: 1000, batchMaxRequests: 25, pageMaxRecords: 100 };

const loaded = (name: string): boolean =>
  Object.keys(require.cache).some((file) => file.includes(`/node_modules/${name}/`));

test('Swagger UI is loaded by the first request under /v1/docs, and answers it', async (t) => {
  const app = buildApp({
    bus: { call: async (): Promise<unknown> => ({}) },
    log: createLogger('gateway', 'silent'),
    config: CONFIG,
    build: { name: 'agora', version: '1.2.3', commit: 'unknown', source: null },
  });
  t.after(() => app.close());
  await app.ready();
  assert.equal(loaded('@fastify/swagger-ui'), false, '@fastify/swagger-ui is loaded before any request');
  const hello = await app.inject({ method: 'GET', url: '/v1/' });
  assert.equal(hello.statusCode, 200);
  assert.equal(loaded('@fastify/swagger-ui'), false, '@fastify/swagger-ui is loaded by another request');

  const page = await app.inject({ method: 'GET', url: `${DOCS_PREFIX}/` });
  assert.equal(page.statusCode, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.match(page.body, /<title>Agora API<\/title>/);
  assert.ok(page.headers['x-request-id'] !== undefined, "the gateway's hooks apply to the page too");
  assert.equal(loaded('@fastify/swagger-ui'), true);

  const script = await app.inject({ method: 'GET', url: `${DOCS_PREFIX}/static/swagger-initializer.js` });
  assert.equal(script.statusCode, 200);
  assert.match(String(script.headers['content-type']), /javascript/);
  const json = await app.inject({ method: 'GET', url: `${DOCS_PREFIX}/json` });
  assert.equal(json.statusCode, 200);
  assert.equal(json.json<{ info: { title: string } }>().info.title, 'Agora');
  const missing = await app.inject({ method: 'GET', url: `${DOCS_PREFIX}/static/no-such-file.js` });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json<{ errno: number }>().errno, 111, "the gateway's own 404 body");
});
