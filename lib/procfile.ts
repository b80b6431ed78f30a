/**
 * The Procfile format of foreman (https://ddollar.github.io/foreman/#PROCFILE) and what
 * `bin/agora.ts start` makes of it: entries, the `-m` formation, and the `name.N |` labels.
 * Pure functions only; spawning lives in bin/launcher.ts.
 */

/** One `name: command` line of a Procfile. */
export interface ProcfileEntry {
  name: string;
  command: string;
}

/** One process to run: entry `name`, instance `index` (from 1), labelled `name.index`. */
export interface PlannedProcess extends ProcfileEntry {
  index: number;
  label: string;
}

/** The label of the launcher's own lines, as foreman names its own. */
export const SYSTEM_LABEL = 'system';

/** foreman's entry syntax (foreman `lib/foreman/procfile.rb`). */
const ENTRY = /^([A-Za-z0-9_-]+):\s*(.+)$/;

/**
 * The entries of a Procfile, in file order. Blank lines and `#` comments are skipped;
 * unlike foreman, which ignores any line it cannot read, a malformed line or a repeated
 * name is an error naming its line, so that a typo does not silently drop a process.
 */
export function parseProcfile(text: string): ProcfileEntry[] {
  const entries: ProcfileEntry[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const m = ENTRY.exec(line.trimEnd());
    if (m === null) throw new Error(`Procfile line ${i + 1}: expected "name: command", got ${JSON.stringify(line)}`);
    if (entries.some((e) => e.name === m[1])) throw new Error(`Procfile line ${i + 1}: "${m[1]}" is defined twice`);
    entries.push({ name: m[1], command: m[2] });
  });
  return entries;
}

/**
 * Instances per entry from a formation such as `all=1,echo=2`, with foreman's meaning:
 * an entry not listed runs `all` times, and `all` is 0 when the formation names it not
 * (so `echo=2` alone runs two echo and nothing else). No formation means one of each.
 */
export function parseFormation(spec: string | undefined, names: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  let all = spec === undefined ? 1 : 0;
  for (const pair of (spec ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const m = /^([A-Za-z0-9_-]+)=(\d+)$/.exec(pair);
    if (m === null) throw new Error(`formation: expected name=N, got ${JSON.stringify(pair)}`);
    if (m[1] === 'all') all = Number(m[2]);
    else if (names.includes(m[1])) counts.set(m[1], Number(m[2]));
    else throw new Error(`formation: no Procfile entry named "${m[1]}" (entries: ${names.join(', ')})`);
  }
  return new Map(names.map((name) => [name, counts.get(name) ?? all]));
}

/** Every process to run, entry by entry in Procfile order, instances numbered from 1. */
export function planProcesses(
  entries: readonly ProcfileEntry[],
  formation: ReadonlyMap<string, number>,
): PlannedProcess[] {
  return entries.flatMap((entry) =>
    Array.from({ length: formation.get(entry.name) ?? 0 }, (_, i) => ({
      ...entry,
      index: i + 1,
      label: `${entry.name}.${i + 1}`,
    })),
  );
}

/** A command of plain words: no quoting, expansion, redirection, list or leading `VAR=`. */
const SIMPLE_COMMAND = /^(?![A-Za-z_][A-Za-z0-9_]*=)[\w./:@%+,=-]+(\s+[\w./:@%+,=-]+)*$/;

/**
 * The script `/bin/sh -c` runs for `command`. A simple command is `exec`ed, so that the
 * process the launcher watches is the command itself and its exit status is the
 * command's (Ruby's `Process.spawn`, which foreman uses, skips the shell in that case too);
 * anything else runs as written.
 */
export function shellScript(command: string): string {
  const trimmed = command.trim();
  return SIMPLE_COMMAND.test(trimmed) ? `exec ${trimmed}` : command;
}

/** Width that lines up every label, the launcher's own included. */
export function labelWidth(labels: readonly string[]): number {
  return Math.max(SYSTEM_LABEL.length, ...labels.map((l) => l.length));
}

/** ANSI colours foreman cycles through (foreman `lib/foreman/engine/cli.rb`). */
const COLORS = [36, 33, 32, 35, 31, 34];

/**
 * The prefix of every output line, `label.padEnd(width) | `, with the label coloured by
 * its position `slot` when `color` is set (only when the output is a terminal).
 */
export function prefix(label: string, width: number, color: boolean, slot = 0): string {
  const text = `${label.padEnd(width)} | `;
  if (!color) return text;
  return `\x1b[${COLORS[slot % COLORS.length]}m${text}\x1b[0m`;
}

/** The JSON log line announcing readiness (lib/lifecycle.ts `announceReady`), or false. */
export function isReadyLine(line: string): boolean {
  if (!line.startsWith('{') || !line.includes('"ready"')) return false;
  try {
    return (JSON.parse(line) as { ready?: unknown }).ready === true;
  } catch {
    return false;
  }
}
