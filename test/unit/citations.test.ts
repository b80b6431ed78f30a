/**
 * The repository stands alone: every citation in its text files points at something inside it
 * (CONTRIBUTING.md "Size, comments and types"). For each TypeScript, Markdown, proto, Python,
 * Ruby, shell and Procfile file of the checkout, this test fails, naming file:line, on
 * 1. a cited Markdown file that does not exist, or a cited part of it that it does not have:
 *    `docs/PROTOCOL.md §3` (a numbered section), `docs/COMPUTE.md "Node states"` (a heading,
 *    or the title of one before its colon or parenthesis), `docs/COMPUTE.md#driver-restarts`
 *    and a Markdown link's `(#anchor)` (a heading's anchor, as GitHub makes them);
 * 2. a repository path such as `lib/errors.ts` or `docs/ERRORS.md` that does not exist;
 * 3. a reference to a page outside the repository: a house-style or design page, the shared
 *    folder beside the checkout, a numbered seed, or an issue number.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/proc';

/** Files whose text is read: by extension, by name, or shell scripts by their first line. */
const TEXT = /\.(ts|md|proto|py|rb|sh)$/;
const NAMED = /(^|\/)Procfile(\.[\w-]+)?$/;
const SKIPPED = /^(node_modules|dist|lib\/gen)(\/|$)|(^|\/)package-lock\.json$/;

/** The top-level folders a repository path starts with. */
const FOLDERS = ['.ci', 'bench', 'bin', 'docs', 'gateway', 'lib', 'proto', 'services', 'test', 'workers'];
const REPO_PATH = new RegExp(`(?<![\\w./@-])((?:${FOLDERS.map(escape).join('|')})/[\\w./-]*)([*{<[]?)`, 'g');

/** Projects whose own source a comment may cite by path: "foreman `lib/foreman/procfile.rb`". */
const ELSEWHERE = /\b(?:foreman|fastify|grpc-js|pino|moleculer|nats\.js|zeromq\.js|libzmq|pyzmq|kinto)\s*[`']?$/i;

/** `<file>.md`, optionally followed by ` §N`, ` "Heading"` or `#anchor` (a closing backtick may come between). */
const MD_CITATION =
  /(?<![\w./-])((?:\.{0,2}\/)?(?:[\w.-]+\/)*[\w-][\w.-]*\.md)`?(?: (§\d+(?:\.\d+)*)| "([^"\n]+)"|#([\w-]+))?/g;
/** A Markdown link to an anchor of its own page. */
const OWN_ANCHOR = /\]\(#([\w-]+)\)/g;

/** Pages outside the repository, which it must not lean on. */
const OUTSIDE: ReadonlyArray<[RegExp, string]> = [
  [/\b(?:STYLE|DESIGN)\s*(?:§|")/, 'cites a house-style or design page outside the repository'],
  [/\.\.\/shared\b/, 'cites the shared folder outside the repository'],
  [/\bseeds?\s+0\d\d/i, 'cites a seed'],
  [/\bissues?\s+#?\d+/i, 'cites an issue number'],
];

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Every file of the checkout, tracked or new (ignored files left out), relative to ROOT. */
function checkoutFiles(): string[] {
  try {
    const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return [...new Set(out.split('\0').filter((f) => f !== ''))];
  } catch {
    return walk('');
  }
}

/** Without git: every file below `dir`, hidden folders but `.ci` left out. */
function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(ROOT, dir))) {
    const rel = dir === '' ? name : `${dir}/${name}`;
    if (SKIPPED.test(rel) || (name.startsWith('.') && name !== '.ci')) continue;
    if (statSync(path.join(ROOT, rel)).isDirectory()) out.push(...walk(rel));
    else out.push(rel);
  }
  return out;
}

/** The files whose text this test reads. */
function textFiles(): string[] {
  return checkoutFiles()
    .filter((f) => !SKIPPED.test(f) && existsSync(path.join(ROOT, f)) && statSync(path.join(ROOT, f)).isFile())
    .filter((f) => TEXT.test(f) || NAMED.test(f) || isShellScript(f))
    .sort();
}

function isShellScript(file: string): boolean {
  if (path.extname(file) !== '') return false;
  return /^#!.*\b(ba)?sh\b/.test(readFileSync(path.join(ROOT, file), 'utf8').split('\n', 1)[0]);
}

/** What a Markdown file offers to citations: its headings, their anchors and section numbers. */
interface Outline {
  headings: string[];
  anchors: Set<string>;
  sections: Set<string>;
}

const outlines = new Map<string, Outline>();

/** The outline of a Markdown file (headings inside fenced code blocks are not headings). */
function outline(file: string): Outline {
  let found = outlines.get(file);
  if (found !== undefined) return found;
  found = { headings: [], anchors: new Set(), sections: new Set() };
  const seen = new Map<string, number>();
  let fence = false;
  for (const line of readFileSync(path.join(ROOT, file), 'utf8').split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fence = !fence;
    const m = fence ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (m === null) continue;
    const heading = m[1].replace(/`/g, '');
    found.headings.push(heading);
    const slug = anchorOf(heading);
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    found.anchors.add(n === 0 ? slug : `${slug}-${n}`);
    const section = /^(\d+(?:\.\d+)*)\.?\s/.exec(heading);
    if (section !== null) found.sections.add(section[1]);
  }
  outlines.set(file, found);
  return found;
}

/** A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Whether a quoted heading names one: all of it, or its title before a colon or a parenthesis. */
function hasHeading(found: Outline, cited: string): boolean {
  const want = cited.replace(/`/g, '').trim();
  return found.headings.some((h) => h === want || h.startsWith(`${want}:`) || h.startsWith(`${want} (`));
}

/** A cited file, relative to ROOT: from the root when it names a folder, else beside the citing file first. */
function resolveCited(from: string, cited: string): string | null {
  const beside = path.posix.normalize(path.posix.join(path.posix.dirname(from), cited));
  const fromRoot = path.posix.normalize(cited.replace(/^\.?\//, ''));
  const order = cited.includes('/') && !cited.startsWith('.') ? [fromRoot, beside] : [beside, fromRoot];
  return order.find((f) => !f.startsWith('..') && existsSync(path.join(ROOT, f))) ?? null;
}

/** What is wrong with one `<file>.md` citation, or null. */
function checkMarkdownCitation(from: string, m: RegExpMatchArray): string | null {
  const [, cited, section, heading, anchor] = m;
  const bare = !cited.includes('/');
  if (bare && section === undefined && heading === undefined && anchor === undefined) return null;
  const file = resolveCited(from, cited);
  if (file === null) return `cites ${cited}, which is not in the repository`;
  const found = outline(file);
  if (section !== undefined && !found.sections.has(section.slice(1))) return `${file} has no section ${section}`;
  if (heading !== undefined && !hasHeading(found, heading)) return `${file} has no heading "${heading}"`;
  if (anchor !== undefined && !found.anchors.has(anchor)) return `${file} has no heading with anchor #${anchor}`;
  return null;
}

/**
 * Whether a path names something, from the root or beside the citing file (the Ruby SDK's
 * README names its own `lib/` folder): a file or folder, or a module by its .ts name.
 */
function pathExists(from: string, rel: string): boolean {
  const candidates = [rel, `${rel}.ts`, rel.replace(/\.js$/, '.ts')];
  const dirs = ['', path.posix.dirname(from)];
  return dirs.some((dir) => candidates.some((c) => existsSync(path.join(ROOT, dir, c))));
}

/** What is wrong with one repository path, or null. */
function checkRepoPath(from: string, line: string, m: RegExpMatchArray): string | null {
  let rel = m[1].replace(/[.-]+$/, '');
  // A glob or placeholder follows (`services/<name>/main.ts`, `lib/bus/*.ts`): only its folder is known.
  if (m[2] !== '') rel = rel.slice(0, rel.lastIndexOf('/') + 1);
  if (rel === '' || ELSEWHERE.test(line.slice(0, m.index))) return null;
  return pathExists(from, rel) ? null : `names ${rel}, which is not in the repository`;
}

/** Every failure of one line. */
function checkLine(file: string, line: string): string[] {
  const problems: string[] = [];
  for (const [pattern, why] of OUTSIDE) if (pattern.test(line)) problems.push(why);
  for (const m of line.matchAll(MD_CITATION)) {
    const problem = checkMarkdownCitation(file, m);
    if (problem !== null) problems.push(problem);
  }
  for (const m of line.matchAll(REPO_PATH)) {
    const problem = checkRepoPath(file, line, m);
    if (problem !== null) problems.push(problem);
  }
  if (file.endsWith('.md')) {
    for (const m of line.matchAll(OWN_ANCHOR))
      if (!outline(file).anchors.has(m[1])) problems.push(`${file} has no heading with anchor #${m[1]}`);
  }
  return problems;
}

/** `file:line: what` for every failure of the checkout. */
function citationFailures(files: readonly string[] = textFiles()): string[] {
  const failures: string[] = [];
  for (const file of files) {
    const lines = readFileSync(path.join(ROOT, file), 'utf8').split('\n');
    lines.forEach((line, i) => {
      for (const problem of checkLine(file, line)) failures.push(`${file}:${i + 1}: ${problem}`);
    });
  }
  return failures;
}

test('the files read include every kind of text file of the repository', () => {
  const files = textFiles();
  for (const sample of ['README.md', 'Procfile', '.ci/run', 'proto/auth.proto', 'lib/errors.ts']) {
    assert.ok(files.includes(sample), `${sample} is not read`);
  }
  for (const sample of ['workers/python/agora_bus.py', 'workers/ruby/lib/agora_bus.rb', 'test/clients/legacy-curl.sh'])
    assert.ok(files.includes(sample), `${sample} is not read`);
  assert.ok(!files.some((f) => SKIPPED.test(f)), 'node_modules, dist, lib/gen or package-lock.json is read');
});

test('a citation of a missing file, section, heading or anchor, or of a page outside, is found', () => {
  const problems = (line: string, file = 'lib/errors.ts'): string[] => checkLine(file, line);
  assert.deepEqual(problems('see docs/PROTOCOL.md §3 and docs/COMPUTE.md "Node states"'), []);
  assert.deepEqual(problems('see docs/COMPUTE.md "The HTTP API", docs/COMPUTE.md#driver-restarts'), []);
  // (The failing citations are cut in two, or this very file would fail the next test.)
  assert.equal(problems('see docs/PROTOCOL.md' + ' §99').length, 1);
  assert.equal(problems('see docs/COMPUTE.md' + ' "No such heading"').length, 1);
  assert.equal(problems('see docs/COMPUTE.md' + '#no-such-anchor').length, 1);
  assert.equal(problems('see docs/' + 'NOPE.md').length, 2);
  assert.equal(problems('see lib/bus/' + 'nope.ts').length, 1);
  assert.deepEqual(problems('see lib/errors.ts, lib/rpc/ and services/<name>/main.ts'), []);
  // A bare file name with a section resolves beside the citing file, then from the root.
  assert.equal(problems('PROTOCOL.md' + ' §3', 'lib/bus/client.ts').length, 1);
  assert.deepEqual(problems('PROTOCOL.md' + ' §3', 'docs/API-V1.md'), []);
  assert.deepEqual(problems('as foreman `lib/foreman/procfile.rb` reads it'), []);
  const outside = ['ST' + 'YLE §2', 'DES' + 'IGN "x"', '../sha' + 'red/x', 'se' + 'ed 002', 'is' + 'sue 3'];
  for (const line of outside) assert.equal(problems(line).length, 1, line);
});

test('every citation in the repository points inside it', () => {
  const failures = citationFailures();
  assert.equal(failures.length, 0, `${failures.length} citations fail:\n${failures.join('\n')}`);
});
