/**
 * The bus's security settings (AGORA_BUS_CURVE and the variables beside it, README
 * "Configuration") turned into what the sockets take: the mechanism a client or worker
 * connects with, the broker's key pair and allow-list, and the broker's refusal to listen
 * beyond this machine without CURVE. With several brokers (AGORA_BUS_URL a list) the same
 * settings apply to each: one AGORA_BUS_SERVER_KEY, so every broker runs with the same server
 * certificate. docs/SECURITY.md tells how they fit together.
 */
import { readFile } from 'node:fs/promises';
import type { Config } from '../config';
import { AgoraError } from '../errors';
import { AllowList } from './allow-list';
import { parseCertificate } from './curve-cert';
import { sodiumReady } from './sodium';
import { z85Decode } from './z85';
import { busEndpoints, parseEndpoint } from './zmtp';
import { curveClient, type CurveKeys } from './zmtp-curve';
import type { MechanismFactory } from './zmtp-mechanism';

/** The settings read here. */
export type BusSecurityConfig = Pick<
  Config,
  'busUrl' | 'busCurve' | 'busCert' | 'busServerKey' | 'busServerCert' | 'busAllow' | 'busInsecure'
> &
  Partial<Pick<Config, 'brokerBind'>>;

/** What the broker needs under CURVE. */
export interface BrokerCurve {
  keys: CurveKeys;
  allow: AllowList;
  /** The allow-list directory, read again on SIGHUP. */
  allowDir: string;
}

/** A configuration problem, as configOrExit reports them (exit 78 naming the variable). */
function invalid(problem: string): AgoraError {
  return new AgoraError('AGORA_ERR_CONFIG_INVALID', [problem], { data: { problems: [problem] } });
}

/** A secret certificate's key pair; `variable` names the setting in every error. */
async function secretKeys(file: string, variable: string): Promise<CurveKeys> {
  if (file === '') throw invalid(`${variable} must name a secret certificate file when AGORA_BUS_CURVE is on`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw invalid(`${variable} ${file} cannot be read: ${(e as Error).message}`);
  }
  try {
    const cert = parseCertificate(text, file);
    if (cert.secretKey === undefined) throw new Error(`${file} holds no curve/secret-key (a public certificate?)`);
    return { publicKey: cert.publicKey, secretKey: cert.secretKey };
  } catch (e) {
    throw invalid(`${variable} ${(e as Error).message}`);
  }
}

/** AGORA_BUS_SERVER_KEY: 40 Z85 characters, or a certificate file holding the broker's public key. */
async function serverKey(value: string): Promise<Buffer> {
  const variable = 'AGORA_BUS_SERVER_KEY';
  if (value === '') throw invalid(`${variable} must be the broker's public key (Z85) or its certificate file`);
  if (value.length === 40 && !/\.key(_secret)?$/.test(value)) {
    try {
      return z85Decode(value);
    } catch (e) {
      throw invalid(`${variable} is not a Z85 key: ${(e as Error).message}`);
    }
  }
  let text: string;
  try {
    text = await readFile(value, 'utf8');
  } catch (e) {
    throw invalid(`${variable} is neither a Z85 key nor a readable file: ${(e as Error).message}`);
  }
  try {
    return parseCertificate(text, value).publicKey;
  } catch (e) {
    throw invalid(`${variable} ${(e as Error).message}`);
  }
}

/**
 * The mechanism a client or worker connects to the broker with: CURVE with its own
 * certificate (AGORA_BUS_CERT) and the broker's key (AGORA_BUS_SERVER_KEY) when
 * AGORA_BUS_CURVE is on, else undefined (NULL). Throws AGORA_ERR_CONFIG_INVALID naming the
 * variable that is missing or wrong.
 */
export async function peerMechanism(config: BusSecurityConfig): Promise<MechanismFactory | undefined> {
  if (config.busCurve !== 'on') return undefined;
  await sodiumReady();
  const keys = await secretKeys(config.busCert, 'AGORA_BUS_CERT');
  return curveClient(await serverKey(config.busServerKey), keys);
}

/** Whether `endpoint` is reachable from this machine only (loopback TCP, or ipc://). */
export function loopbackOnly(endpoint: string): boolean {
  const address = parseEndpoint(endpoint);
  if (address.path !== undefined) return true;
  const host = address.host ?? '';
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The broker's CURVE setup (AGORA_BUS_SERVER_CERT, AGORA_BUS_ALLOW) when AGORA_BUS_CURVE is
 * on. Off, a broker that would listen beyond loopback refuses to start unless
 * AGORA_BUS_INSECURE is true. Throws AGORA_ERR_CONFIG_INVALID naming the variable.
 */
export async function brokerCurve(config: BusSecurityConfig): Promise<BrokerCurve | undefined> {
  if (config.busCurve !== 'on') {
    const bind = config.brokerBind !== undefined && config.brokerBind !== '' ? config.brokerBind : config.busUrl;
    const variable = bind === config.busUrl ? 'AGORA_BUS_URL' : 'AGORA_BROKER_BIND';
    if (!config.busInsecure && !busEndpoints(bind).every(loopbackOnly))
      throw invalid(
        `${variable} ${bind} listens beyond this machine without CURVE: set AGORA_BUS_CURVE=on ` +
          '(docs/SECURITY.md), or AGORA_BUS_INSECURE=true to accept an unauthenticated, unencrypted bus',
      );
    return undefined;
  }
  await sodiumReady();
  const keys = await secretKeys(config.busServerCert, 'AGORA_BUS_SERVER_CERT');
  if (config.busAllow === '')
    throw invalid('AGORA_BUS_ALLOW must name the directory of public certificates when AGORA_BUS_CURVE is on');
  let allow: AllowList;
  try {
    allow = await AllowList.read(config.busAllow);
  } catch (e) {
    throw invalid(`AGORA_BUS_ALLOW ${(e as Error).message}`);
  }
  return { keys, allow, allowDir: config.busAllow };
}
