/**
 * Imported first by main.ts, before anything that allocates: the young generation stays at V8's
 * first size while the gateway starts, and grows once it is ready (lib/young-generation.ts).
 */
import { holdYoungGeneration } from '../lib/young-generation';

holdYoungGeneration();
