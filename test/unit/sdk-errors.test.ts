/**
 * The bus SDKs in other languages name error codes of the one registry (docs/ARCHITECTURE.md
 * "One error registry"), so they must agree with lib/errors.ts:
 * 1. every table of codes an SDK module holds (a map whose keys are `AGORA_ERR_` codes) is
 *    read by running the SDK's own interpreter, which loads the module and prints its tables
 *    as JSON; each code must be in the registry, with the registry's message (and errno,
 *    status and gRPC status, where the table states them);
 * 2. every `AGORA_ERR_` code the Python and Ruby sources mention exists in the registry, so a
 *    renamed code cannot linger in a worker.
 * Without the interpreter or the SDK's packages the first test is skipped, or fails under
 * CI=true (test/helpers/proc.ts skipOrFail).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ERRORS, isErrorCode } from '../../lib/errors';
import { ROOT, skipOrFail } from '../helpers/proc';

/** An SDK, the program that prints its tables, and what its absence looks like. */
interface Sdk {
  lang: string;
  interpreter: string;
  args: string[];
  /** The Debian packages .ci/run installs for it. */
  packages: string;
  /** stderr of a run that failed only because a package is missing. */
  missing: RegExp;
}

/** Prints `{"<name>": {code: value}}` for every dict of agora_bus whose keys are all codes. */
const PYTHON_DUMP = `
import json, sys
sys.path.insert(0, sys.argv[1])
import agora_bus
def is_table(value):
    return isinstance(value, dict) and len(value) > 0 and all(
        isinstance(key, str) and key.startswith("AGORA_ERR_") for key in value)
print(json.dumps({name: value for name, value in vars(agora_bus).items() if is_table(value)}))
`;

/** Prints the same for every Hash constant of AgoraBus and the modules and classes inside it. */
const RUBY_DUMP = `
require 'json'
ARGV.each { |file| require File.expand_path(file) }
tables = {}
seen = []
walk = lambda do |mod|
  next if seen.include?(mod)

  seen << mod
  mod.constants.sort.each do |name|
    value = mod.const_get(name)
    if value.is_a?(Hash) && !value.empty? && value.keys.all? { |k| k.is_a?(String) && k.start_with?('AGORA_ERR_') }
      tables["#{mod}::#{name}"] = value
    elsif value.is_a?(Module) && value.name.to_s.start_with?('AgoraBus')
      walk.call(value)
    end
  end
end
walk.call(AgoraBus)
puts JSON.generate(tables)
`;

const RUBY_LIB = path.join(ROOT, 'workers', 'ruby', 'lib');

const SDKS: readonly Sdk[] = [
  {
    lang: 'Python',
    interpreter: '/usr/bin/python3',
    args: ['-B', '-c', PYTHON_DUMP, path.join(ROOT, 'workers', 'python')],
    packages: 'python3-zmq and python3-msgpack',
    missing: /No module named '(zmq|msgpack)['.]/,
  },
  {
    lang: 'Ruby',
    interpreter: '/usr/bin/ruby',
    args: [
      '-e',
      RUBY_DUMP,
      path.join(RUBY_LIB, 'agora_bus.rb'),
      ...readdirSync(path.join(RUBY_LIB, 'agora_bus')).map((f) => path.join(RUBY_LIB, 'agora_bus', f)),
    ],
    packages: 'ruby-ffi-rzmq and ruby-msgpack',
    missing: /cannot load such file -- (ffi-rzmq|msgpack)\b/,
  },
];

type Tables = Record<string, Record<string, unknown>>;

/** The SDK's tables, or why they cannot be read on this machine. */
function dumpTables(sdk: Sdk): Promise<{ tables: Tables } | { absent: string }> {
  return new Promise((resolve, reject) => {
    execFile(sdk.interpreter, sdk.args, { timeout: 30_000, cwd: ROOT }, (err, stdout, stderr) => {
      if (err === null) return resolve({ tables: JSON.parse(stdout) as Tables });
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        return resolve({ absent: `${sdk.interpreter} is not installed` });
      const missing = sdk.missing.exec(stderr);
      if (missing !== null) return resolve({ absent: `${sdk.interpreter} lacks a package (${missing[0]})` });
      reject(new Error(`${sdk.lang}'s tables could not be read: ${stderr.trim() || err.message}`));
    });
  });
}

/** What one table entry states: a message alone, or a map of the registry's fields. */
function stated(value: unknown): { message?: unknown; errno?: unknown; status?: unknown; grpc?: unknown } {
  if (typeof value === 'string') return { message: value };
  assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), `an entry is ${String(value)}`);
  const fields = value as Record<string, unknown>;
  const known = ['message', 'errno', 'status', 'grpc'];
  assert.ok(
    Object.keys(fields).some((key) => known.includes(key)),
    `an entry states none of ${known.join(', ')}: ${JSON.stringify(value)}`,
  );
  return { message: fields.message, errno: fields.errno, status: fields.status, grpc: fields.grpc };
}

for (const sdk of SDKS) {
  test(`the ${sdk.lang} SDK's error tables agree with lib/errors.ts`, async (t) => {
    const dump = await dumpTables(sdk);
    if ('absent' in dump) {
      skipOrFail(t, dump.absent, sdk.packages);
      return;
    }
    const { tables } = dump;
    assert.ok(Object.keys(tables).length > 0, `${sdk.lang}: no table of AGORA_ERR_ codes found`);
    for (const [table, entries] of Object.entries(tables)) {
      for (const [code, value] of Object.entries(entries)) {
        if (!isErrorCode(code)) assert.fail(`${sdk.lang} ${table} names ${code}, which lib/errors.ts does not have`);
        const spec = ERRORS[code];
        const claims = stated(value);
        for (const field of ['message', 'errno', 'status', 'grpc'] as const) {
          if (claims[field] === undefined) continue;
          assert.equal(claims[field], spec[field], `${sdk.lang} ${table} ${code}: ${field}`);
        }
      }
    }
  });
}

/** The Python and Ruby files below `dir` (relative to the root). */
function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir)).flatMap((name) => {
    const rel = path.join(dir, name);
    if (name === '__pycache__') return [];
    if (statSync(path.join(ROOT, rel)).isDirectory()) return sources(rel);
    return /\.(py|rb)$/.test(name) ? [rel] : [];
  });
}

test('every AGORA_ERR_ code the workers in other languages name is in lib/errors.ts', () => {
  const files = sources('workers');
  assert.ok(files.some((f) => f.endsWith('agora_bus.py')) && files.some((f) => f.endsWith('agora_bus.rb')));
  const unknown: string[] = [];
  for (const file of files) {
    readFileSync(path.join(ROOT, file), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        for (const [code] of line.matchAll(/\bAGORA_ERR_[A-Z0-9_]*[A-Z0-9]\b/g))
          if (!isErrorCode(code)) unknown.push(`${file}:${i + 1}: ${code}`);
      });
  }
  assert.deepEqual(unknown, [], `codes lib/errors.ts does not have:\n${unknown.join('\n')}`);
});
