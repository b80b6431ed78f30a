/**
 * The OpenAPI document is valid OpenAPI 3 and lists exactly the routes the application
 * registers (Swagger UI's own pages aside), each with its method; it and Swagger UI speak of
 * Agora and its legacy messaging API by their own names.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
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

test('/v1/docs is titled Agora and shows no borrowed logo; no text of the OpenAPI document says "seed"', async (t) => {
  const app = build();
  t.after(() => app.close());
  for (const url of [DOCS_PREFIX, `${DOCS_PREFIX}/`]) {
    const page = await app.inject({ method: 'GET', url });
    assert.equal(page.statusCode, 200, url);
    assert.match(page.body, /<title>Agora API<\/title>/, url);
    assert.doesNotMatch(page.body, /Swagger UI|favicon-(16|32)x\1\.png/, url);
    assert.match(page.body, /<link rel="icon" type="image\/svg\+xml" href="[^"]*\/theme\/favicon\.svg"/, url);
  }
  const icon = await app.inject({ method: 'GET', url: `${DOCS_PREFIX}/static/theme/favicon.svg` });
  assert.equal(icon.statusCode, 200);
  assert.match(String(icon.headers['content-type']), /^image\/svg\+xml/);

  // The top bar's logo is set by the initializer script, as a data: URL.
  const init = await app.inject({ method: 'GET', url: `${DOCS_PREFIX}/static/swagger-initializer.js` });
  assert.equal(init.statusCode, 200);
  const fastifyLogo = readFileSync(
    path.join(path.dirname(require.resolve('@fastify/swagger-ui')), 'static', 'logo.svg'),
  );
  assert.ok(fastifyLogo.length > 1000, 'the plugin still ships the logo this test looks for');
  assert.ok(!init.body.includes(fastifyLogo.toString('base64')), "Fastify's logo is not shown");
  const logo = /img\.src = 'data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)'/.exec(init.body)?.[1];
  assert.ok(logo !== undefined, 'a logo replaces the default');
  assert.match(Buffer.from(logo, 'base64').toString('utf8'), />Agora<\/text>/);

  const doc = await app.inject({ method: 'GET', url: '/v1/openapi.json' });
  assert.equal(doc.statusCode, 200);
  assert.doesNotMatch(doc.body, /seed/i);
  const { info, tags } = doc.json<{ info: { description: string }; tags: { name: string; description?: string }[] }>();
  assert.match(info.description, /^The legacy messaging API \(.*docs\/API-LEGACY\.md\)/);
  assert.equal(tags.find((tag) => tag.name === 'legacy')?.description, 'The legacy messaging API (docs/API-LEGACY.md)');
});
