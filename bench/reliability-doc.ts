/**
 * docs/RELIABILITY.md is written by two scripts, `npm run faults` (bench/faults.ts) and `npm run soak`
 * (bench/soak.ts): each replaces only its own section, between its begin and end comments, and keeps
 * everything else of the file (the hand-written introduction, the other section).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { machine } from './machine';
import { ROOT } from './procs';

export const RELIABILITY = path.join(ROOT, 'docs', 'RELIABILITY.md');

/** The start of a file that does not exist yet. */
const NEW_FILE = '# Reliability\n';

const begin = (name: string): string =>
  `<!-- ${name}: begin (written by npm run ${name}; edit the script, not this) -->`;
const end = (name: string): string => `<!-- ${name}: end -->`;

/** `doc` with the section `name` set to `body` (appended when it is not there yet). */
export function withSection(doc: string, name: string, body: string): string {
  const [b, e] = [begin(name), end(name)];
  const block = `${b}\n\n${body.trim()}\n\n${e}`;
  const from = doc.indexOf(b);
  const to = doc.indexOf(e);
  if (from >= 0 && to > from) return doc.slice(0, from) + block + doc.slice(to + e.length);
  return `${doc.trimEnd()}\n\n${block}\n`;
}

/** Write the section `name` of docs/RELIABILITY.md. */
export function writeSection(name: string, body: string): void {
  const doc = existsSync(RELIABILITY) ? readFileSync(RELIABILITY, 'utf8') : NEW_FILE;
  writeFileSync(RELIABILITY, withSection(doc, name, body));
}

/** The run's header line: date, machine, and the load average when it began. */
export function runHeader(loadAtStart: number): string {
  const cores = os.cpus().length;
  const shared =
    loadAtStart > cores / 2
      ? 'the machine was shared with other work, so timings moved a lot'
      : 'no other load to speak of';
  return (
    `Run of ${new Date().toISOString().slice(0, 10)} on ${machine()}; load average ${loadAtStart.toFixed(1)} ` +
    `on ${cores} cores when the run began (${shared}).`
  );
}
