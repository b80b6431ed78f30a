#!/usr/bin/env node
/** `agora`, the command (README.md "The agora command"); the program is bin/cli.ts. */
import { CommanderError } from 'commander';
import { EXIT } from './cli-format';
import { failed, program } from './cli';

async function main(argv: string[]): Promise<number> {
  let pending: Promise<number> | undefined;
  const cli = program((code) => {
    pending = code;
  });
  try {
    await cli.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are successes; any other parse failure is a usage error.
      return e.exitCode === 0 || e.code === 'commander.helpDisplayed' ? EXIT.OK : EXIT.USAGE;
    }
    return failed(e);
  }
  if (pending === undefined) {
    cli.outputHelp({ error: true });
    return EXIT.USAGE;
  }
  return pending.catch(failed);
}

/** Exit once what was written to stdout is flushed (a pipe may still hold it). */
function exit(code: number): void {
  process.stdout.write('', () => process.exit(code));
}

main(process.argv).then(exit, (err: unknown) => exit(failed(err)));
