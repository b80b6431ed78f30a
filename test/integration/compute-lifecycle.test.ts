/**
 * The node lifecycle through the gateway (issue: compute), once per driver: broker, auth,
 * the driver, compute and the gateway as the Procfile runs them, with real node processes.
 * A driver in another language adds its DriverUnderTest here.
 */
import { TYPESCRIPT_DRIVER } from '../helpers/compute';
import { nodeLifecycleSuite } from '../helpers/lifecycle-suite';

nodeLifecycleSuite(TYPESCRIPT_DRIVER);
