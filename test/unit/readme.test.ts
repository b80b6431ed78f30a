import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { VARIABLES } from '../../lib/config';
import { ROOT } from '../helpers/proc';

/** The README's configuration table: `| \`ENV\` | \`default\` | meaning |` rows, env → default. */
function readmeTable(): Map<string, string> {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const rows = [...readme.matchAll(/^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|\s*`([^`]*)`\s*\|/gm)];
  return new Map(rows.map((m) => [m[1], m[2]]));
}

test("the README's configuration table lists every variable of lib/config.ts with its default", () => {
  const table = readmeTable();
  for (const variable of VARIABLES) {
    assert.ok(table.has(variable.env), `README.md has no row for ${variable.env}`);
    assert.equal(table.get(variable.env), String(variable.def), `README.md default of ${variable.env}`);
  }
});

test('the README table has no other rows, in the order of VARIABLES', () => {
  assert.deepEqual(
    [...readmeTable().keys()],
    VARIABLES.map((v) => v.env),
  );
});
