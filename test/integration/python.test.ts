/**
 * Python on the bus: workers/python's example worker (service `pyecho`) and client against
 * the real broker and TypeScript services (the shared suite of test/helpers/sdk-suite.ts), and
 * the same under CURVE (test/helpers/sdk-curve.ts).
 */
import path from 'node:path';
import { ROOT } from '../helpers/proc';
import { sdkCurveSuite } from '../helpers/sdk-curve';
import { sdkSuite, type Sdk } from '../helpers/sdk-suite';

const SDK: Sdk = {
  lang: 'Python',
  // Debian's interpreter, which has python3-zmq and python3-msgpack (the first python3 on PATH may not).
  interpreter: '/usr/bin/python3',
  probe: ['-c', 'import zmq, msgpack'],
  packages: 'python3-zmq and python3-msgpack',
  worker: path.join(ROOT, 'workers', 'python', 'example_worker.py'),
  service: 'pyecho',
  client: path.join(ROOT, 'workers', 'python', 'example_client.py'),
};

sdkSuite(SDK);
sdkCurveSuite(SDK);
