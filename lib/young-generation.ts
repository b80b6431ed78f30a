/**
 * The size of V8's young generation in a process that starts with much garbage and little load: the
 * gateway (README.md "The parts"). Building its routes allocates far more than 16 MB, so with
 * `--min-semi-space-size=16`, or with V8's default growth, its start leaves both 16 MB semi-spaces
 * written, 32 MB resident at rest, which V8 gives back only after a collection at a low allocation
 * rate, seconds later or never.
 *
 * So the gateway holds the young generation at V8's first 1 MB per semi-space while it starts
 * (`holdYoungGeneration`: a growth factor of 1, which V8 accepts at run time though it raises a
 * command line's to 2), and once ready lets it grow by GROWTH_FACTOR (`growYoungGenerationAtOnce`):
 * the first growth under load takes it to its full 16 MB at once, and it stays there while the load
 * lasts. V8 reads the factor at each growth. A process started with its own `--min-semi-space-size`
 * or `--semi-space-growth-factor` keeps them: both functions then do nothing.
 *
 * Held that small, the young generation promotes much of the start's short-lived garbage (the
 * routes' compiled schemas, ~10 MB) to the old generation, which no collection visits while the
 * gateway rests: a full collection alone frees that space but keeps its pages. So once its routes are
 * built, the gateway makes one full collection that compacts (`compactOldGeneration`), and the
 * emptied pages go back to the system: ~9 MB less resident at rest, for ~20 ms before it listens.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

/** From V8's first 1 MB per semi-space to its largest, 16 MB, in one step. */
export const GROWTH_FACTOR = 16;

const OWN = /^--(min[-_]semi[-_]space[-_]size|semi[-_]space[-_]growth[-_]factor)(=|$)/;

/** Whether the process was started with its own size or growth of the young generation. */
export function hasOwnYoungGenerationFlags(execArgv: readonly string[], nodeOptions = ''): boolean {
  return [...execArgv, ...nodeOptions.split(/\s+/)].some((arg) => OWN.test(arg));
}

function setGrowthFactor(factor: number, execArgv: readonly string[], nodeOptions: string): boolean {
  if (hasOwnYoungGenerationFlags(execArgv, nodeOptions)) return false;
  v8.setFlagsFromString(`--semi-space-growth-factor=${factor}`);
  return true;
}

/** The young generation stops growing (until growYoungGenerationAtOnce); answers whether it was set. */
export function holdYoungGeneration(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
): boolean {
  return setGrowthFactor(1, execArgv, nodeOptions);
}

/** The young generation's next growth takes it to its full size; answers whether it was set. */
export function growYoungGenerationAtOnce(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
): boolean {
  return setGrowthFactor(GROWTH_FACTOR, execArgv, nodeOptions);
}

/**
 * One full collection that compacts the old generation; answers whether V8 offered one. A process
 * started with `--expose-gc` keeps its `gc` global; otherwise the collection is taken from a context
 * made while that flag is set (V8 installs `gc` in contexts made then), and the flag is unset again.
 */
export function compactOldGeneration(): boolean {
  const collect = fullCollection();
  if (collect === undefined) return false;
  v8.setFlagsFromString('--compact-on-every-full-gc');
  try {
    collect();
  } finally {
    v8.setFlagsFromString('--no-compact-on-every-full-gc');
  }
  return true;
}

function fullCollection(): (() => void) | undefined {
  const exposed: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return exposed as () => void;
  v8.setFlagsFromString('--expose-gc');
  try {
    const made: unknown = vm.runInNewContext('gc');
    return typeof made === 'function' ? (made as () => void) : undefined;
  } catch {
    return undefined;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
}
