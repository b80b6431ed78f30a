/** lib/build-info.ts: the package's name and version, and the commit read from `.git` without git. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { gitCommit, readBuildInfo } from '../../lib/build-info';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

function tree(t: TestContext, files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'agora-build-info-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), text);
  }
  return root;
}

test('a detached HEAD, a loose ref, a packed ref', (t) => {
  assert.equal(gitCommit(tree(t, { '.git/HEAD': `${A}\n` })), A);
  assert.equal(gitCommit(tree(t, { '.git/HEAD': 'ref: refs/heads/main\n', '.git/refs/heads/main': `${B}\n` })), B);
  const packed = `# pack-refs with: peeled fully-peeled sorted\n${A} refs/heads/other\n${B} refs/heads/main\n`;
  assert.equal(gitCommit(tree(t, { '.git/HEAD': 'ref: refs/heads/main\n', '.git/packed-refs': packed })), B);
});

test('a linked worktree: .git names the git dir, whose commondir holds the refs', (t) => {
  const root = tree(t, {
    'main/.git/refs/heads/feature': `${A}\n`,
    'main/.git/worktrees/wt/HEAD': 'ref: refs/heads/feature\n',
    'main/.git/worktrees/wt/commondir': '../..\n',
    'wt/.git': 'gitdir: ../main/.git/worktrees/wt\n',
  });
  assert.equal(gitCommit(path.join(root, 'wt')), A);
});

test('readBuildInfo: package.json, the configured commit and source win, nothing known is "unknown"', (t) => {
  const root = tree(t, { 'package.json': '{"name":"agora","version":"1.2.3"}', '.git/HEAD': `${A}\n` });
  assert.deepEqual(readBuildInfo({ root }), { name: 'agora', version: '1.2.3', commit: A, source: null });
  assert.deepEqual(readBuildInfo({ root, commit: 'abcdef1', source: 'https://example.org/agora' }), {
    name: 'agora',
    version: '1.2.3',
    commit: 'abcdef1',
    source: 'https://example.org/agora',
  });
  const empty = tree(t, { 'package.json': 'not json', '.git/HEAD': 'ref: refs/heads/gone\n' });
  assert.deepEqual(readBuildInfo({ root: empty }), {
    name: 'unknown',
    version: 'unknown',
    commit: 'unknown',
    source: null,
  });
});
