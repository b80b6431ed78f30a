/**
 * What `/__version__` answers (the Cliquet/Kinto protocol and the Dockerflow convention of
 * a `version.json`): the build, that is the package's name and version, the commit it was
 * built from and where its source lives. The commit is the configured one (AGORA_COMMIT, set by a deployment that
 * ships no `.git`) or read from the checkout's `.git` without running git.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface BuildInfo {
  name: string;
  version: string;
  /** 40 hex digits, or "unknown". */
  commit: string;
  /** URL of the source repository, or null when none is published. */
  source: string | null;
}

/** The repository root: this module is lib/build-info.ts, run from dist/lib/build-info.js. */
const ROOT = path.resolve(__dirname, '..', '..');

export interface BuildInfoOptions {
  /** AGORA_COMMIT; empty: read `.git`. */
  commit?: string;
  /** AGORA_SOURCE_URL; empty: none published. */
  source?: string;
  /** Where package.json and `.git` are (default: the repository root). */
  root?: string;
}

/** Read the build's description once; nothing here throws (a missing file reads as "unknown"). */
export function readBuildInfo(options: BuildInfoOptions = {}): BuildInfo {
  const root = options.root ?? ROOT;
  const pkg = readJson(path.join(root, 'package.json'));
  return {
    name: typeof pkg.name === 'string' ? pkg.name : 'unknown',
    version: typeof pkg.version === 'string' ? pkg.version : 'unknown',
    commit: options.commit !== undefined && options.commit !== '' ? options.commit : (gitCommit(root) ?? 'unknown'),
    source: options.source !== undefined && options.source !== '' ? options.source : null,
  };
}

function readJson(file: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * HEAD's commit from the git directory: `.git` is a directory, or (a worktree) a file
 * `gitdir: <path>`; HEAD holds a hash or `ref: refs/…`, found loose or in `packed-refs`
 * (of the common directory, for a worktree).
 */
export function gitCommit(root: string): string | undefined {
  const dotGit = path.join(root, '.git');
  const pointer = readText(dotGit);
  const gitDir = pointer === undefined ? dotGit : path.resolve(root, pointer.replace(/^gitdir:\s*/, '').trim());
  const head = readText(path.join(gitDir, 'HEAD'))?.trim();
  if (head === undefined) return undefined;
  if (/^[0-9a-f]{40}$/.test(head)) return head;
  const ref = /^ref:\s*(\S+)$/.exec(head)?.[1];
  if (ref === undefined) return undefined;
  const common = readText(path.join(gitDir, 'commondir'))?.trim();
  const dirs = common === undefined ? [gitDir] : [gitDir, path.resolve(gitDir, common)];
  for (const dir of dirs) {
    const loose = readText(path.join(dir, ref))?.trim();
    if (loose !== undefined && /^[0-9a-f]{40}$/.test(loose)) return loose;
    const packed = readText(path.join(dir, 'packed-refs'))
      ?.split('\n')
      .find((line) => line.endsWith(` ${ref}`));
    if (packed !== undefined) return packed.slice(0, 40);
  }
  return undefined;
}
