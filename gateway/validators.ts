/**
 * The gateway's JSON Schema validators: compiled by Ajv at start, one per route and part of a request, by
 * Fastify's own Ajv (gateway/app.ts) and by the /v1 scope's two (gateway/v1/scope.ts).
 */
import type Ajv from 'ajv';

/**
 * `ajv` keeps each validator it compiles by its schema's JSON, so that a schema met again is compiled once.
 * Ajv's own cache is kept by schema object, and the routes bring their schemas as new objects: each /v1
 * route's headers (./v1/scope.ts authHeaders), each root route's header schema lowercased into a copy by
 * Fastify. The gateway compiled 97 validators for 33 distinct schemas, about a quarter of its CPU before it
 * was ready. A validator is a function of its schema alone, given one instance's options and schemas.
 */
export function compileOncePerSchema(ajv: Ajv): void {
  const compiled = new Map<string, ReturnType<Ajv['compile']>>();
  const compile = ajv.compile.bind(ajv);
  ajv.compile = ((schema: object, meta?: boolean) => {
    const key = `${meta === true ? 'meta ' : ''}${JSON.stringify(schema)}`;
    let validate = compiled.get(key);
    if (validate === undefined) compiled.set(key, (validate = compile(schema, meta)));
    return validate;
  }) as Ajv['compile'];
}
