/**
 * The dependency direction (CONTRIBUTING.md "Dependency direction"), by reading the imports:
 * lib/ uses neither the gateway nor the services, and a storage adapter is imported only by
 * its family's index (lib/store/index.ts), which main.ts files use to pick one from the
 * configuration; what the adapters share (the PostgreSQL pool) stays inside lib/store/.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/proc';

/** Every .ts file below `dir` (relative to the repository root), generated code excepted. */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(ROOT, dir))) {
    const rel = path.join(dir, name);
    if (statSync(path.join(ROOT, rel)).isDirectory()) {
      if (rel !== path.join('lib', 'gen')) out.push(...sources(rel));
    } else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) {
      out.push(rel);
    }
  }
  return out;
}

/** The files `file` imports, at its top or by `import('…')` on demand, as repository paths (packages left out). */
function imports(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const onTop = [...text.matchAll(/^import\s[^;]*?from\s+'(\.[^']+)'/gms)];
  const onDemand = [...text.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g)];
  return [...onTop, ...onDemand].map((m) => path.normalize(path.join(path.dirname(file), m[1])));
}

const CODE = ['lib', 'services', 'gateway', 'bin'].flatMap(sources);

test('lib/ imports neither gateway/ nor services/', () => {
  for (const file of CODE.filter((f) => f.startsWith(`lib${path.sep}`))) {
    for (const dep of imports(file)) assert.ok(!/^(gateway|services)\//.test(dep), `${file} imports ${dep}`);
  }
});

/** What the adapters share: imported by them and by the index, by nothing outside lib/store/. */
const SHARED = [
  'lib/store/migrations',
  'lib/store/outage',
  'lib/store/pg-arrays',
  'lib/store/postgres-pool',
  'lib/store/redis-connection',
];
/** The files of lib/store/ that are not adapters: the contracts, the index, and what the adapters share. */
const NOT_ADAPTERS = ['lib/store/contracts', 'lib/store/index', ...SHARED];

test('storage adapters are imported only by lib/store/index.ts', () => {
  const adapters = new Set(
    CODE.filter((file) => file.startsWith('lib/store/'))
      .map((file) => file.replace(/\.ts$/, ''))
      .filter((file) => !NOT_ADAPTERS.includes(file)),
  );
  assert.ok(adapters.has('lib/store/store-postgres') && adapters.has('lib/store/postgres-broadcast'));
  const users = CODE.filter((file) => imports(file).some((dep) => adapters.has(dep)));
  assert.deepEqual(users.sort(), ['lib/store/index.ts']);
});

test('what the storage adapters share is imported only inside lib/store/', () => {
  for (const file of CODE.filter((f) => !f.startsWith('lib/store/'))) {
    for (const dep of imports(file)) assert.ok(!SHARED.includes(dep), `${file} imports ${dep}`);
  }
});
