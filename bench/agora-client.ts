/**
 * Agora's load: one bus client (lib/bus/client.ts) calling `echo.echo(payload)` through
 * the broker. Ready once the broker says it knows a worker for `echo` (MMI, RFC 8). With
 * AGORA_BUS_CURVE=on in its environment it connects with CURVE (lib/bus/security.ts).
 */
import { createClient } from '../lib/bus/client';
import { peerMechanism } from '../lib/bus/security';
import { loadConfig } from '../lib/config';
import { clientMain, PAYLOAD, type Connected, type LoadPlan } from './load';

async function connect(plan: LoadPlan): Promise<Connected> {
  const mechanism = await peerMechanism(loadConfig());
  const client = createClient({ endpoint: plan.endpoint, timeoutMs: 5000, mechanism });
  const deadline = Date.now() + 10_000;
  while (!(await client.hasService('echo', { timeoutMs: 1000 }))) {
    if (Date.now() > deadline) throw new Error('the broker knows no echo worker after 10 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    call: () => client.call('echo', 'echo', [PAYLOAD]),
    close: () => client.close(),
  };
}

clientMain('agora-client', connect);
