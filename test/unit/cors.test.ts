/**
 * gateway/hooks/cors.ts answers what @fastify/cors answers with the options the gateway used to give it,
 * header for header and in the same order, for simple requests and preflights, with `*` or a list of
 * origins, whatever Origin the request names.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fastifyCors from '@fastify/cors';
import fastify, { type FastifyInstance, type InjectOptions } from 'fastify';
import { ALLOWED_METHODS, cors, EXPOSED_HEADERS } from '../../gateway/hooks/cors';

async function appWith(register: (app: FastifyInstance) => PromiseLike<unknown>): Promise<FastifyInstance> {
  const app = fastify();
  await register(app);
  app.post('/post', async () => ({ status: true }));
  app.get('/v1/things/:id', async (_request, reply) => reply.header('vary', 'Accept').send({ ok: true }));
  await app.ready();
  return app;
}

const REQUESTS: Array<InjectOptions & { url: string }> = [];
for (const origin of [undefined, 'https://a.example', 'https://evil.example']) {
  const headers = origin === undefined ? {} : { origin };
  REQUESTS.push(
    { method: 'POST', url: '/post', headers },
    { method: 'GET', url: '/v1/things/1', headers },
    { method: 'GET', url: '/unknown', headers },
    { method: 'OPTIONS', url: '/post', headers },
    {
      method: 'OPTIONS',
      url: '/v1/things/1',
      headers: { ...headers, 'access-control-request-method': 'GET', 'access-control-request-headers': 'If-Match' },
    },
    { method: 'OPTIONS', url: '/nowhere/', headers: { ...headers, 'access-control-request-method': 'PUT' } },
  );
}

for (const origins of [['*'], ['https://a.example', 'https://b.example'], ['https://a.example', '*']]) {
  test(`the CORS answers are @fastify/cors's, origins ${origins.join(',')}`, async (t) => {
    const ours = await appWith((app) => app.register(cors, { origins }));
    const theirs = await appWith((app) =>
      app.register(fastifyCors, {
        origin: origins.length === 1 && origins[0] === '*' ? '*' : [...origins],
        methods: [...ALLOWED_METHODS],
        exposedHeaders: [...EXPOSED_HEADERS],
        maxAge: 3600,
        strictPreflight: false,
      }),
    );
    t.after(() => Promise.all([ours.close(), theirs.close()]));
    for (const request of REQUESTS) {
      const [a, b] = await Promise.all([ours.inject(request), theirs.inject(request)]);
      const what = `${request.method} ${request.url} ${JSON.stringify(request.headers)}`;
      assert.equal(a.statusCode, b.statusCode, what);
      const headers = (h: Record<string, unknown>): Array<[string, unknown]> =>
        Object.entries(h).filter(([name]) => name !== 'date');
      assert.deepEqual(headers(a.headers), headers(b.headers), what);
      assert.equal(a.body, b.body, what);
    }
  });
}
