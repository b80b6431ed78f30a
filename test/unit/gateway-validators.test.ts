/**
 * The gateway's validators (gateway/validators.ts): a schema met again, as a new object with the same
 * content, is compiled once, and each validator still checks what its schema says.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Ajv from 'ajv';
import { compileOncePerSchema } from '../../gateway/validators';

test('an Ajv instance compiles each distinct schema once, whatever object brings it', () => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  let compiles = 0;
  const compile = ajv.compile.bind(ajv);
  ajv.compile = ((schema: object, meta?: boolean) => {
    compiles++;
    return compile(schema, meta);
  }) as Ajv['compile'];
  compileOncePerSchema(ajv);

  const headers = (): object => ({ type: 'object', properties: { authorization: { type: 'string' } } });
  const first = ajv.compile(headers());
  const again = ajv.compile(headers());
  assert.equal(compiles, 1, 'the same content as a new object is not compiled again');
  assert.equal(again, first);

  const name = ajv.compile({ type: 'object', required: ['name'], properties: { name: { type: 'string' } } });
  assert.equal(compiles, 2, 'another schema is compiled');
  assert.notEqual(name, first);

  // Each still validates by its own schema.
  assert.equal(first({ authorization: 'Bearer 1' }), true);
  assert.equal(first({ authorization: 1 }), false);
  assert.equal(name({ name: 'general' }), true);
  assert.equal(name({}), false);
  assert.match(JSON.stringify(name.errors), /must have required property 'name'/);
});
