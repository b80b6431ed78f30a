/**
 * Ruby on the bus: workers/ruby's example worker (service `rbecho`) and client against the
 * real broker and TypeScript services (the shared suite of test/helpers/sdk-suite.ts), and
 * the same under CURVE (test/helpers/sdk-curve.ts).
 */
import path from 'node:path';
import { ROOT } from '../helpers/proc';
import { RUBY, RUBY_PACKAGES, RUBY_PROBE } from '../helpers/ruby';
import { sdkCurveSuite } from '../helpers/sdk-curve';
import { sdkMultiSuite } from '../helpers/sdk-multi';
import { sdkSuite, type Sdk } from '../helpers/sdk-suite';

const SDK: Sdk = {
  lang: 'Ruby',
  interpreter: RUBY,
  probe: RUBY_PROBE,
  packages: RUBY_PACKAGES,
  worker: path.join(ROOT, 'workers', 'ruby', 'example_worker.rb'),
  service: 'rbecho',
  client: path.join(ROOT, 'workers', 'ruby', 'example_client.rb'),
};

sdkSuite(SDK);
sdkMultiSuite(SDK);
sdkCurveSuite(SDK);
