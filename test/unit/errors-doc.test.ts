/**
 * docs/ERRORS.md and lib/errors.ts say the same: one row per registry code, in order, with
 * its HTTP status, errno, gRPC status and message; and every errno used is explained.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ERRORS, GRPC } from '../../lib/errors';
import { ROOT } from '../helpers/proc';

const DOC = readFileSync(path.join(ROOT, 'docs', 'ERRORS.md'), 'utf8');
const GRPC_NAME = new Map<number, string>(Object.entries(GRPC).map(([name, value]) => [value, name]));

test('docs/ERRORS.md lists every registry code with its numbers and message, in order', () => {
  const rows = [...DOC.matchAll(/^\| `(AGORA_ERR_[A-Z_]+)` \| (\d+) \| (\d+) \| ([A-Z_]+) \| (.*) \|$/gm)];
  const documented = rows.map((m) => ({
    code: m[1],
    status: Number(m[2]),
    errno: Number(m[3]),
    grpc: m[4],
    message: m[5].replace(/\\\|/g, '|'),
  }));
  const registry = Object.entries(ERRORS).map(([code, spec]) => ({
    code,
    status: spec.status,
    errno: spec.errno,
    grpc: GRPC_NAME.get(spec.grpc),
    message: spec.message,
  }));
  assert.deepEqual(documented, registry);
});

test('every errno the registry uses is explained in the errno table', () => {
  const explained = new Set([...DOC.matchAll(/^\| (\d{3}) \| [^|]+ \|$/gm)].map((m) => Number(m[1])));
  for (const [code, spec] of Object.entries(ERRORS))
    assert.ok(explained.has(spec.errno), `${code}: errno ${spec.errno} is not in the errno table`);
});
