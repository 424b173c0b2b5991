/**
 * The seed a fuzz test runs with: fixed, so a failure in CI replays exactly, and printed, so
 * a different one (`FUZZ_SEED=…`) can be tried and its failure reported with its number.
 */
export function fuzzSeed(name: string): number {
  const seed = Number(process.env.FUZZ_SEED ?? 20_261_201);
  process.stderr.write(`${name}: seed ${seed} (set FUZZ_SEED to replay or vary)\n`);
  return seed;
}

/** A deterministic PRNG (mulberry32): the same seed gives the same sequence on every machine. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
