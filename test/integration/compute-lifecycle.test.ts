/**
 * The node lifecycle through the gateway, once per driver of test/helpers/drivers.ts:
 * broker, auth, the driver, compute and the gateway as the Procfile runs them, with real
 * node processes.
 */
import { DRIVERS } from '../helpers/drivers';
import { nodeLifecycleSuite } from '../helpers/lifecycle-suite';

for (const driver of DRIVERS) nodeLifecycleSuite(driver);
