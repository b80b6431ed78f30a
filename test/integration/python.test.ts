/**
 * Python on the bus: workers/python's example worker (service `pyecho`) and client against
 * the real broker and TypeScript services (the shared suite of test/helpers/sdk-suite.ts), the
 * same under CURVE (test/helpers/sdk-curve.ts), and a plain MDP client as the ZeroMQ guide writes
 * them (docs/PROTOCOL.md §9).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { createClient } from '../../lib/bus/client';
import { until } from '../helpers/bus';
import { ROOT, start, startBroker, type Started } from '../helpers/proc';
import { sdkCurveSuite } from '../helpers/sdk-curve';
import { sdkMultiSuite } from '../helpers/sdk-multi';
import { needSdk, sdkSuite, type Sdk } from '../helpers/sdk-suite';

const PYTHON: Sdk = {
  lang: 'Python',
  // Debian's interpreter, which has python3-zmq and python3-msgpack (the first python3 on PATH may not).
  interpreter: '/usr/bin/python3',
  probe: ['-c', 'import zmq, msgpack'],
  packages: 'python3-zmq and python3-msgpack',
  worker: path.join(ROOT, 'workers', 'python', 'example_worker.py'),
  service: 'pyecho',
  client: path.join(ROOT, 'workers', 'python', 'example_client.py'),
};

sdkSuite(PYTHON);
sdkMultiSuite(PYTHON);
sdkCurveSuite(PYTHON);

/** A zguide-style MDP client: a REQ socket, [MDPC01][service][body], no metadata frame, one reply. */
const PLAIN_CLIENT = `
import json, sys, zmq, msgpack
ctx = zmq.Context()
s = ctx.socket(zmq.REQ)
s.setsockopt(zmq.LINGER, 0)
s.setsockopt(zmq.RCVTIMEO, 15000)
s.connect(sys.argv[1])
s.send_multipart([b"MDPC01", sys.argv[2].encode(), msgpack.packb([0, 1, "echo", ["hi"]])])
reply = s.recv_multipart()
print(json.dumps([reply[0].decode(), reply[1].decode(), msgpack.unpackb(reply[2], raw=False)]))
`;

test('a plain MDP client (no metadata frame) started before its worker is served once the worker registers', async (t) => {
  if (!(await needSdk(t, PYTHON))) return;
  const procs: Started[] = [];
  t.after(() => Promise.all(procs.map((p) => p.stop())));
  const broker = await startBroker();
  procs.push(broker);
  const bus = String(broker.endpoints.bus);
  const answered = new Promise<{ err: Error | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      PYTHON.interpreter,
      ['-c', PLAIN_CLIENT, bus, PYTHON.service],
      { timeout: 20_000 },
      (err, stdout, stderr) => resolve({ err, stdout, stderr }),
    );
  });
  // The client's request reaches the broker first: it waits there for a worker.
  const observer = createClient({ endpoint: bus });
  t.after(() => observer.close());
  await until(
    async () => (await observer.services()).some((s) => s.name === PYTHON.service && s.queued === 1),
    5000,
    'the plain request waiting in the broker',
  );
  procs.push(await start(PYTHON.interpreter, [PYTHON.worker], { env: { AGORA_BUS_URL: bus }, stderrLines: true }));
  const { err, stdout, stderr } = await answered;
  assert.equal(err, null, stderr);
  assert.deepEqual(JSON.parse(stdout), ['MDPC01', 'pyecho', [1, 1, null, 'hi']]);
});
