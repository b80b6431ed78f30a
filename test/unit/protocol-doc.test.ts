/**
 * docs/PROTOCOL.md and the code stay in step: every hex dump of the page is re-encoded here
 * with the real encoders (lib/bus/codec.ts) and wire constants (lib/bus/mdp.ts), and the
 * page's tables of command bytes, error codes and variables are checked against the registry.
 *
 * The page marks each checked block with an HTML comment just before its fence:
 *   <!-- frames: NAME -->  the block is exactly `renderFrames(FRAMES[NAME])`;
 *   <!-- bytes: NAME -->   each line starts with hex bytes, then two spaces and a comment;
 *                          the bytes of all lines, in order, are exactly BYTES[NAME].
 * When a block differs, the failure prints the block the code produces.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  DRAIN_OPTIONS,
  encodeMeta,
  encodeNotification,
  encodeRequest,
  encodeResponse,
  pack,
} from '../../lib/bus/codec';
import { Command, DISCONNECT, EMPTY, HEARTBEAT, MDPC01, MDPW01, READY, REPLY, REQUEST } from '../../lib/bus/mdp';
import { VARIABLES } from '../../lib/config';
import { AgoraError, ERRORS } from '../../lib/errors';
import { ROOT } from '../helpers/proc';

const DOC = readFileSync(path.join(ROOT, 'docs', 'PROTOCOL.md'), 'utf8');

// ---- the worked example: echo.echo("hi") with msgid 1 ----

/** A routing id as libzmq's ROUTER makes them (0x00 then 4 bytes); opaque to everyone else. */
const CLIENT_ADDRESS = Buffer.from([0x00, 0x80, 0x00, 0x00, 0x29]);
const SERVICE = Buffer.from('echo');
/** 2026-01-01T00:00:00Z: a fixed deadline, so the dump never changes. */
const DEADLINE = Date.UTC(2026, 0, 1);

const request = encodeRequest(1, 'echo', ['hi']);
const meta = encodeMeta({ deadline: DEADLINE, reqId: 'req-1' });
const reply = encodeResponse(1, null, 'hi');
const errorReply = encodeResponse(2, new AgoraError('AGORA_ERR_RPC_NO_METHOD', ['echo', 'nope']).toWire(), null);
const notification = encodeNotification('echo', ['hi']);
const services = pack([{ name: 'echo', workers: 1, slots: 32, idle: 31, queued: 0 }]);
const describeRequest = encodeRequest(7, '__describe__', []);
const describeBody = encodeResponse(7, null, { methods: { echo: { params: {}, result: {} } } });
const userMeta = encodeMeta({ deadline: DEADLINE, reqId: 'req-1', user: 'ann' });

/** Every multi-frame message the page dumps, as the sending or receiving DEALER sees it. */
export const FRAMES: Record<string, Buffer[]> = {
  'worker-ready': [EMPTY, MDPW01, READY, SERVICE],
  'client-request': [EMPTY, MDPC01, SERVICE, request, meta],
  'worker-request': [EMPTY, MDPW01, REQUEST, CLIENT_ADDRESS, EMPTY, request, meta],
  'worker-reply': [EMPTY, MDPW01, REPLY, CLIENT_ADDRESS, EMPTY, reply],
  'client-reply': [EMPTY, MDPC01, SERVICE, reply],
  heartbeat: [EMPTY, MDPW01, HEARTBEAT],
  drain: [EMPTY, MDPW01, HEARTBEAT, DRAIN_OPTIONS],
  disconnect: [EMPTY, MDPW01, DISCONNECT],
  'mmi-request': [EMPTY, MDPC01, Buffer.from('mmi.service'), SERVICE],
  'mmi-reply': [EMPTY, MDPC01, Buffer.from('mmi.service'), Buffer.from('200')],
};

/** Every single frame the page explains byte by byte. */
export const BYTES: Record<string, Buffer> = {
  'request-body': request,
  meta,
  'reply-body': reply,
  'error-body': errorReply,
  'notification-body': notification,
  'services-body': services,
  'describe-request': describeRequest,
  'describe-body': describeBody,
  'user-meta': userMeta,
};

/** One line per 16 bytes of each frame: `frame N  hex…  |ascii|`; an empty frame says so. */
export function renderFrames(frames: Buffer[]): string {
  const lines: string[] = [];
  frames.forEach((frame, i) => {
    const label = `frame ${i}`.padEnd(9);
    if (frame.length === 0) lines.push(`${label}(empty)`);
    for (let at = 0; at < frame.length; at += 16) {
      const chunk = [...frame.subarray(at, at + 16)];
      const hex = chunk
        .map((b) => b.toString(16).padStart(2, '0'))
        .join(' ')
        .padEnd(47);
      const ascii = chunk.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
      lines.push(`${at === 0 ? label : ' '.repeat(9)}${hex}  |${ascii}|`);
    }
  });
  return lines.join('\n');
}

/** The fenced block after each `<!-- kind: name -->` marker of the page. */
function markedBlocks(kind: 'frames' | 'bytes'): Map<string, string> {
  const out = new Map<string, string>();
  const re = new RegExp(`<!-- ${kind}: ([a-z-]+) -->\\s*\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\\n\`\`\``, 'g');
  for (const m of DOC.matchAll(re)) {
    assert.ok(!out.has(m[1]), `docs/PROTOCOL.md marks two blocks as ${kind}: ${m[1]}`);
    out.set(m[1], m[2]);
  }
  return out;
}

/** The bytes of an annotated block: the hex before the first double space of each line. */
function annotatedBytes(block: string): Buffer {
  const bytes: number[] = [];
  for (const line of block.split('\n')) {
    const hex = line.split(/ {2,}/)[0].trim();
    assert.match(hex, /^[0-9a-f]{2}( [0-9a-f]{2})*$/, `not a line of hex bytes: ${JSON.stringify(line)}`);
    for (const h of hex.split(' ')) bytes.push(parseInt(h, 16));
  }
  return Buffer.from(bytes);
}

function hex(buffer: Buffer): string {
  return [...buffer].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

test('every frame dump of docs/PROTOCOL.md is what the encoders produce', () => {
  const blocks = markedBlocks('frames');
  assert.deepEqual([...blocks.keys()].sort(), Object.keys(FRAMES).sort(), 'the page dumps exactly these messages');
  for (const [name, frames] of Object.entries(FRAMES)) {
    const expected = renderFrames(frames);
    assert.equal(blocks.get(name), expected, `block "frames: ${name}" should read:\n${expected}\n`);
  }
});

test('every byte-by-byte explanation of docs/PROTOCOL.md adds up to the encoded frame', () => {
  const blocks = markedBlocks('bytes');
  assert.deepEqual([...blocks.keys()].sort(), Object.keys(BYTES).sort(), 'the page explains exactly these frames');
  for (const [name, bytes] of Object.entries(BYTES)) {
    assert.equal(hex(annotatedBytes(blocks.get(name) ?? '')), hex(bytes), `block "bytes: ${name}"`);
  }
});

test('the command table gives every RFC 7 command its byte', () => {
  const commands: Array<[string, number]> = [
    ['READY', Command.READY],
    ['REQUEST', Command.REQUEST],
    ['REPLY', Command.REPLY],
    ['HEARTBEAT', Command.HEARTBEAT],
    ['DISCONNECT', Command.DISCONNECT],
  ];
  for (const [name, byte] of commands) {
    const cell = `0x${byte.toString(16).padStart(2, '0')}`;
    assert.match(DOC, new RegExp(`^\\| \`${cell}\` \\| ${name} \\|`, 'm'), `command table row for ${name}`);
  }
  assert.match(DOC, new RegExp(`\`${MDPC01.toString()}\` \\| \`${hex(MDPC01)}\``));
  assert.match(DOC, new RegExp(`\`${MDPW01.toString()}\` \\| \`${hex(MDPW01)}\``));
});

test('the error table lists every bus and rpc code of lib/errors.ts with its errno and status', () => {
  const busCodes = Object.keys(ERRORS).filter((c) => /^AGORA_ERR_(BUS|RPC)_/.test(c) || c === 'AGORA_ERR_INTERNAL');
  for (const code of busCodes) {
    const spec = ERRORS[code as keyof typeof ERRORS];
    assert.match(
      DOC,
      new RegExp(`^\\| \`${code}\` \\| ${spec.errno} \\| ${spec.status} \\|`, 'm'),
      `error table row for ${code}`,
    );
  }
  for (const [named] of DOC.matchAll(/AGORA_ERR_[A-Z_]+/g))
    assert.ok(named in ERRORS, `docs/PROTOCOL.md names ${named}, which lib/errors.ts lacks`);
});

test('every variable the page names exists, with the default it states', () => {
  const byEnv = new Map(VARIABLES.map((v) => [v.env, v]));
  for (const [named] of DOC.matchAll(/AGORA_(?!ERR_)[A-Z_]+/g))
    assert.ok(byEnv.has(named), `docs/PROTOCOL.md names ${named}, which lib/config.ts lacks`);
  for (const m of DOC.matchAll(/`(AGORA_(?!ERR_)[A-Z_]+)` \(default `([^`]*)`\)/g)) {
    assert.equal(m[2], String(byEnv.get(m[1])?.def), `default of ${m[1]}`);
  }
});
