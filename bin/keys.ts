/**
 * `agora keys new NAME [DIR]` and `agora keys init DIR`: CURVE certificates for the bus
 * (docs/SECURITY.md), written as czmq and pyzmq write them (lib/bus/curve-cert.ts).
 *
 * `init` makes one for the broker and one for every other Procfile process, plus a `client`
 * one for trying the bus, and the allow-list (DIR/allow) granting each the least it needs:
 * every service serves its own name; only compute may call the drivers; only the gateway may
 * call Auth (Logon among it) and the other services, and act for users.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateCertificate, PUBLIC_SUFFIX, SECRET_SUFFIX, writeCertificate } from '../lib/bus/curve-cert';
import { sodiumReady } from '../lib/bus/sodium';
import { z85Encode } from '../lib/bus/z85';
import { parseProcfile } from '../lib/procfile';

export const KEYS_USAGE = `usage: agora keys new NAME [DIR] [--serve S,...] [--call S|S.M,...] [--act-for-users]
       agora keys init DIR [-f Procfile]
  new   writes DIR/NAME.key (public) and DIR/NAME.key_secret (mode 0600); DIR defaults to .
  init  writes a certificate for the broker and every Procfile process, and DIR/allow/ (AGORA_BUS_ALLOW)
`;

/** What each process of the Procfile may do on the bus (certificate metadata, lib/bus/allow-list.ts). */
export const GRANTS: Readonly<Record<string, Record<string, string>>> = {
  echo: { serve: 'echo' },
  auth: { serve: 'Auth' },
  channels: { serve: 'Channels' },
  messages: { serve: 'Messages' },
  compute: { serve: 'Compute', call: 'driver.local,driver.ruby' },
  driver: { serve: 'driver.local' },
  'driver-ruby': { serve: 'driver.ruby' },
  routes: { serve: 'Routes' },
  wake: { serve: 'Wake', call: 'Compute.Wake,Compute.Sleep,Compute.__heartbeat__' },
  proxy: { call: 'Wake.Wake,Wake.Activity' },
  // Compute by method: Compute.Wake and Compute.Sleep act on any user's node and are the wake service's.
  gateway: {
    call: 'Auth,Channels,Messages,Routes,echo,Compute.Create,Compute.List,Compute.Get,Compute.Update,Compute.Delete,Compute.Output,Compute.__heartbeat__,Compute.__describe__',
    act_for_users: 'true',
  },
  client: { call: 'echo' },
};

/** The broker's certificate name in DIR. */
export const BROKER = 'broker';
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** `keys …`; answers the exit code, writing what it did to `out`. Throws an Error for the user's mistakes. */
export async function keysCommand(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      serve: { type: 'string' },
      call: { type: 'string' },
      'act-for-users': { type: 'boolean', default: false },
      procfile: { type: 'string', short: 'f', default: 'Procfile' },
    },
  });
  await sodiumReady();
  const [verb, ...rest] = positionals;
  if (verb === 'new' && (rest.length === 1 || rest.length === 2)) {
    const metadata: Record<string, string> = {};
    if (values.serve !== undefined) metadata.serve = values.serve;
    if (values.call !== undefined) metadata.call = values.call;
    if (values['act-for-users']) metadata.act_for_users = 'true';
    await newPair(rest[1] ?? '.', rest[0], metadata, out);
    return 0;
  }
  if (verb === 'init' && rest.length === 1) {
    await init(rest[0], path.resolve(values.procfile), out);
    return 0;
  }
  throw new Error(`expected "keys new NAME [DIR]" or "keys init DIR"`);
}

async function newPair(dir: string, name: string, metadata: Record<string, string>, out: NodeJS.WritableStream) {
  if (!NAME.test(name)) throw new Error(`a certificate name is 1 to 64 letters, digits, "_", "." or "-": ${name}`);
  const secret = path.join(dir, name + SECRET_SUFFIX);
  if (existsSync(secret)) throw new Error(`${secret} exists: remove it first to make a new key`);
  await mkdir(dir, { recursive: true });
  const cert = generateCertificate(metadata);
  const written = await writeCertificate(dir, name, cert);
  out.write(`${written.publicFile}  ${z85Encode(cert.publicKey)}\n${written.secretFile ?? ''}\n`);
  return written.publicFile;
}

async function init(dir: string, procfile: string, out: NodeJS.WritableStream): Promise<void> {
  const names = parseProcfile(await readFile(procfile, 'utf8'))
    .map((e) => e.name)
    .filter((n) => n !== BROKER);
  if (!names.includes('client')) names.push('client');
  const allow = path.join(dir, 'allow');
  await mkdir(allow, { recursive: true });
  await newPair(dir, BROKER, {}, out);
  for (const name of names) {
    const grant = GRANTS[name];
    if (grant === undefined) out.write(`${name}: not a process agora knows; its certificate grants nothing\n`);
    const publicFile = await newPair(dir, name, grant ?? {}, out);
    await copyFile(publicFile, path.join(allow, name + PUBLIC_SUFFIX));
  }
  out.write(
    `\nbroker:  AGORA_BUS_SERVER_CERT=${path.join(dir, BROKER + SECRET_SUFFIX)} AGORA_BUS_ALLOW=${allow}\n` +
      `others:  AGORA_BUS_SERVER_KEY=${path.join(dir, BROKER + PUBLIC_SUFFIX)} ` +
      `AGORA_BUS_CERT=${path.join(dir, '<process>' + SECRET_SUFFIX)}\nall:     AGORA_BUS_CURVE=on\n`,
  );
}
