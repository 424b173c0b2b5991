/**
 * The seed a fuzz test runs with: fixed, so a failure in CI replays exactly, and printed, so
 * a different one (`FUZZ_SEED=…`) can be tried and its failure reported with its number.
 */
export function fuzzSeed(name: string): number {
  const seed = Number(process.env.FUZZ_SEED ?? 20_261_201);
  process.stderr.write(`${name}: seed ${seed} (set FUZZ_SEED to replay or vary)\n`);
  return seed;
}
