/**
 * The bridge through the real mesh: a Python worker the gateway has never heard of
 * (workers/python's SDK) declares a public method with a schema; `POST /v1/rpc/...` calls it
 * with a session and the worker sees the session's user; bad params are 400, a method it did
 * not declare public 404, no session 401; the OpenAPI document lists the method.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createClient } from '../../lib/bus/client';
import { waitForService } from '../helpers/bus';
import { startMesh } from '../helpers/mesh';
import { ROOT, start } from '../helpers/proc';
import { needSdk } from '../helpers/sdk-suite';
import { assertError, call, logon, type Json } from '../helpers/v1';

const PYTHON = {
  interpreter: '/usr/bin/python3',
  probe: ['-c', 'import zmq, msgpack'],
  packages: 'python3-zmq and python3-msgpack',
};

const SERVICE = 'pygreet';

/** The worker: `greet` public with a schema, `secret` served but not public. */
const WORKER = `
import json, os, signal, sys
sys.path.insert(0, sys.argv[1])
from agora_bus import Worker, current_meta, current_user, public

@public(params={"type": "object", "required": ["name"], "additionalProperties": False,
                "properties": {"name": {"type": "string", "minLength": 1}}},
        result={"type": "object", "properties": {"greeting": {"type": "string"}}})
def greet(args):
    """Greets someone, saying who asked."""
    return {"greeting": "hello " + args["name"], "user": current_user(), "caller": current_meta().get("caller")}

def secret():
    return "not for the edge"

def ready():
    print(json.dumps({"ready": True, "endpoints": {"bus": os.environ["AGORA_BUS_URL"]}}), flush=True)

worker = Worker(None, "${SERVICE}", {"greet": greet, "secret": secret}, concurrency=2, on_ready=ready)
signal.signal(signal.SIGTERM, lambda *_: worker.stop())
sys.exit(0 if worker.run() else 1)
`;

test('a Python worker unknown to the gateway is called through POST /v1/rpc for the signed-in user', async (t) => {
  if (!(await needSdk(t, PYTHON))) return;
  const mesh = await startMesh(t);
  const bus = String(mesh.procs.broker.endpoints.bus);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agora-bridge-'));
  const script = path.join(dir, 'greeter.py');
  writeFileSync(script, WORKER);
  const worker = await start(PYTHON.interpreter, [script, path.join(ROOT, 'workers', 'python')], {
    env: { AGORA_BUS_URL: bus },
    stderrLines: true,
  });
  const client = createClient({ endpoint: bus, timeoutMs: 5000 });
  t.after(async () => {
    client.close();
    await worker.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await waitForService(client, SERVICE, 10_000);
  const key = await logon(mesh.base, 'ann');

  await t.test('its public method answers {data}, and the worker saw ann as the user', async () => {
    const res = await call(mesh.base, 'POST', `/v1/rpc/${SERVICE}/greet`, { key, body: { name: 'bob' } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { data: { greeting: 'hello bob', user: 'ann', caller: 'gateway' } });
  });

  await t.test('params its schema refuses: 400 errno 107 naming each field', async () => {
    const res = await call(mesh.base, 'POST', `/v1/rpc/${SERVICE}/greet`, { key, body: { name: '', age: 3 } });
    const body = assertError(res, 400, 107, 'bad params');
    const details = body.details as Json[];
    assert.deepEqual(details.map((d) => `${String(d.location)}:${String(d.name)}`).sort(), ['body:age', 'body:name']);
  });

  await t.test('a method it serves but did not declare public, or an unknown service: 404', async () => {
    assertError(await call(mesh.base, 'POST', `/v1/rpc/${SERVICE}/secret`, { key, body: {} }), 404, 111, 'secret');
    assertError(await call(mesh.base, 'POST', '/v1/rpc/nosuch/greet', { key, body: {} }), 404, 111, 'no service');
    assertError(await call(mesh.base, 'POST', '/v1/rpc/Auth/Resolve', { key, body: {} }), 404, 111, 'Auth');
  });

  await t.test('no session: 401; a session that ended: 401', async () => {
    const none = await call(mesh.base, 'POST', `/v1/rpc/${SERVICE}/greet`, { body: { name: 'bob' } });
    assertError(none, 401, 104, 'no session');
    assert.match(String(none.headers.get('www-authenticate')), /^Bearer/);
    const other = await logon(mesh.base, 'carol');
    assert.equal((await call(mesh.base, 'DELETE', '/v1/sessions/current', { key: other })).status, 204);
    const ended = await call(mesh.base, 'POST', `/v1/rpc/${SERVICE}/greet`, { key: other, body: { name: 'bob' } });
    assertError(ended, 401, 105, 'ended session');
  });

  await t.test('/v1/openapi.json lists its public method, and only that one', async () => {
    const res = await call(mesh.base, 'GET', '/v1/openapi.json');
    assert.equal(res.status, 200);
    const paths = (res.body as { paths: Record<string, Json> }).paths;
    const op = paths[`/v1/rpc/${SERVICE}/greet`]?.post as Json | undefined;
    assert.ok(op !== undefined, Object.keys(paths).join(' '));
    assert.equal(op.summary, 'Greets someone, saying who asked.');
    const schema = ((op.requestBody as Json).content as Record<string, Json>)['application/json'].schema as Json;
    assert.deepEqual(schema.required, ['name']);
    assert.ok(!Object.keys(paths).some((p) => p.endsWith('/secret')), 'secret is not listed');
  });
});
