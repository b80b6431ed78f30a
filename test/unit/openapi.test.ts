/**
 * The OpenAPI document is valid OpenAPI 3 and lists exactly the routes the application
 * registers (Swagger UI's own pages aside), each with its method.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { buildApp } from '../../gateway/app';
import { DOCS_PREFIX } from '../../gateway/ops/openapi';
import { createLogger } from '../../lib/log';

const CONFIG = { busMaxBodyBytes: 1_048_576, requestTimeoutMs: 1000, batchMaxRequests: 25, pageMaxRecords: 100 };

function build() {
  const bus = { call: async (): Promise<unknown> => ({}) };
  return buildApp({
    bus,
    log: createLogger('gateway', 'silent'),
    config: CONFIG,
    build: { name: 'agora', version: '1.2.3', commit: 'unknown', source: null },
  });
}

/** `/v1/channels/:name` → `/v1/channels/{name}`. */
function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

test('the OpenAPI document is valid OpenAPI 3 and lists every route the app registers', async (t) => {
  const app = build();
  t.after(() => app.close());
  await app.ready();
  const doc = app.swagger() as unknown as {
    openapi: string;
    info: { version: string };
    paths: Record<string, Record<string, unknown>>;
  };
  assert.match(doc.openapi, /^3\.0\./);
  assert.equal(doc.info.version, '1.2.3');
  await SwaggerParser.validate(structuredClone(doc) as never);

  const registered = app.routeTable.list().filter((r) => !r.url.startsWith(DOCS_PREFIX));
  assert.ok(registered.length >= 17, `${registered.length} routes`);
  const documented = Object.entries(doc.paths).flatMap(([p, ops]) =>
    Object.keys(ops)
      .filter((k) => k !== 'parameters')
      .map((m) => `${m.toUpperCase()} ${p}`),
  );
  assert.deepEqual(documented.sort(), registered.map((r) => `${r.method} ${openApiPath(r.url)}`).sort());
});

test('/v1/openapi.json serves the document; every /v1 error response is the Cliquet body', async (t) => {
  const app = build();
  t.after(() => app.close());
  const res = await app.inject({ method: 'GET', url: '/v1/openapi.json' });
  assert.equal(res.statusCode, 200);
  const doc = JSON.parse(res.body) as {
    paths: Record<
      string,
      Record<string, { responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }> }>
    >;
    components: { schemas: Record<string, unknown> };
  };
  assert.ok(doc.components.schemas.CliquetError !== undefined);
  const messages = doc.paths['/v1/channels/{name}/messages'].get.responses;
  for (const status of ['400', '401', '404', '503']) {
    assert.equal(
      messages[status].content?.['application/json'].schema.$ref,
      '#/components/schemas/CliquetError',
      status,
    );
  }
});
