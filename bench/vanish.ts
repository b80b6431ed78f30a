/**
 * A bus client that sends `echo.echo` calls and vanishes (fault suite, docs/RELIABILITY.md): it
 * connects to every broker of argv[2], sends argv[3] calls without waiting for one answer, lets a
 * moment pass for the frames to leave, prints `{"sent":N}` and waits to be killed.
 */
import { createClient } from '../lib/bus/client';

async function main(): Promise<void> {
  const [endpoint, count] = [process.argv[2] ?? '', Number(process.argv[3] ?? 10_000)];
  const client = createClient({ endpoint, timeoutMs: 60_000 });
  const deadline = Date.now() + 15_000;
  while (!(await client.hasService('echo', { timeoutMs: 1000 }).catch(() => false))) {
    if (Date.now() > deadline) throw new Error('no echo worker within 15 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (let i = 0; i < count; i++) client.call('echo', 'echo', [{ vanished: i }]).catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 200));
  process.stdout.write(`${JSON.stringify({ sent: count })}\n`);
  await new Promise(() => undefined); // the suite kills it
}

main().catch((err: unknown) => {
  process.stderr.write(`vanish: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
