// Shared settings of the property-based (fast-check) suites: a fixed seed and a small run count
// in CI, both overridable (VMLAUNCH_FUZZ_SEED, VMLAUNCH_FUZZ_SCALE multiplies the runs); `npm run soak` runs them long.
import fc from 'fast-check';
import { VmlaunchError } from '../../../core/index.js';

/** fast-check parameters: `runs` is this suite's CI count, scaled by VMLAUNCH_FUZZ_SCALE. */
export function fuzzParams(runs: number): { seed: number; numRuns: number; endOnFailure: true } {
  const seed = Number(process.env.VMLAUNCH_FUZZ_SEED ?? 1414);
  const scale = Number(process.env.VMLAUNCH_FUZZ_SCALE ?? 1);
  if (!Number.isInteger(seed)) throw new Error('VMLAUNCH_FUZZ_SEED must be an integer');
  if (!(scale >= 1)) throw new Error('VMLAUNCH_FUZZ_SCALE must be a number >= 1');
  return { seed, numRuns: Math.round(runs * scale), endOnFailure: true };
}

/** The outcome every parser must have on any input: a value, or one of our typed errors. */
export function valueOrTyped<T>(run: () => T): T | VmlaunchError {
  try {
    return run();
  } catch (error) {
    if (error instanceof VmlaunchError) return error;
    throw error;
  }
}

/**
 * Keys that break naive code reading JSON objects (prototype and conversion hooks). Not
 * 'constructor': fast-check cannot print a counterexample that holds one.
 */
export const hostileKeys = fc.constantFrom('__proto__', 'toString', 'valueOf', 'toJSON', 'then');

/** Arbitrary JSON values whose objects may carry hostile keys. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.string(),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(hostileKeys, fc.string({ maxLength: 8 })), tie('value'), {
      maxKeys: 4,
    }),
  ),
})).value;

/**
 * Mutations of a valid JSON object: a field dropped, replaced by any JSON value, or an extra
 * field added, at any depth.
 */
export function mutated(base: unknown): fc.Arbitrary<unknown> {
  const paths: string[][] = [];
  const walk = (value: unknown, path: string[]): void => {
    paths.push(path);
    if (value !== null && typeof value === 'object') {
      for (const key of Object.keys(value))
        walk((value as Record<string, unknown>)[key], [...path, key]);
    }
  };
  walk(base, []);
  return fc
    .tuple(
      fc.constantFrom(...paths),
      fc.constantFrom('drop', 'replace', 'add'),
      hostileJson,
      fc.oneof(hostileKeys, fc.string({ maxLength: 6 })),
    )
    .map(([path, how, value, key]) => {
      const copy = structuredClone(base) as Record<string, unknown>;
      if (path.length === 0) return how === 'replace' ? value : copy;
      let parent: Record<string, unknown> = copy;
      for (const step of path.slice(0, -1)) parent = parent[step] as Record<string, unknown>;
      const last = path[path.length - 1]!;
      if (how === 'drop') delete parent[last];
      else if (how === 'replace') parent[last] = value;
      else {
        const target = parent[last];
        if (Array.isArray(target)) target.push(value);
        else if (target !== null && typeof target === 'object')
          // defineProperty, not assignment: a '__proto__' key must be data, not the setter.
          Object.defineProperty(target, key, {
            value,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        else parent[last] = value;
      }
      return copy;
    });
}

/** Text that is JSON of `value`, or that text cut or with one character changed. */
export function mutatedText(value: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  return fc
    .tuple(
      value,
      fc.nat(),
      fc.constantFrom('keep', 'cut', 'flip'),
      fc.string({ minLength: 1, maxLength: 1 }),
    )
    .map(([v, at, how, c]) => {
      const text = JSON.stringify(v) ?? 'null';
      const i = text.length === 0 ? 0 : at % text.length;
      if (how === 'cut') return text.slice(0, i);
      if (how === 'flip') return text.slice(0, i) + c + text.slice(i + 1);
      return text;
    });
}
