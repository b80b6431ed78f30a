/**
 * The compute drivers (docs/COMPUTE.md "The driver contract"), each started from its Procfile
 * entry point, for the tests that run one suite against every driver.
 */
import path from 'node:path';
import type { TestContext } from 'node:test';
import { ROOT, start, startNode, type Started } from './proc';
import { RUBY, RUBY_PACKAGES, RUBY_PROBE } from './ruby';
import { needSdk } from './sdk-suite';

export interface DriverSpec {
  /** Its name in test titles. */
  name: string;
  /** The bus service it registers by default (what AGORA_COMPUTE_DRIVER names). */
  service: string;
  /** Start it on the bus `bus` with `env` added; resolves on its ready line. */
  start(bus: string, env?: Record<string, string>): Promise<Started>;
  /** Whether this machine can run it (else skipped, or failed under CI). */
  available(t: TestContext): Promise<boolean>;
}

export const RUBY_DRIVER: DriverSpec = {
  name: 'Ruby',
  service: 'driver.ruby',
  start: (bus, env = {}) =>
    start(RUBY, [path.join(ROOT, 'workers', 'ruby', 'driver.rb')], { env: { AGORA_BUS_URL: bus, ...env } }),
  available: (t) => needSdk(t, { interpreter: RUBY, probe: RUBY_PROBE, packages: RUBY_PACKAGES }),
};

export const TS_DRIVER: DriverSpec = {
  name: 'TypeScript',
  service: 'driver.local',
  start: (bus, env = {}) =>
    startNode('services/driver/main.js', { env: { AGORA_BUS_URL: bus, AGORA_DRIVER_GRPC_URL: '127.0.0.1:0', ...env } }),
  available: async () => true,
};

/** Every driver; the conformance suite runs against each. */
export const DRIVERS: DriverSpec[] = [TS_DRIVER, RUBY_DRIVER];
