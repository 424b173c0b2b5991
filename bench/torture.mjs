// `npm run torture [-- --kills=N]`: crash torture of the built server (see lib/torture-core.mjs).
// Exits non-zero when an invariant broke.
import { runTorture } from "./lib/torture-core.mjs";

const arg = (name, fallback) => {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`));
  return found === undefined ? fallback : Number(found.slice(name.length + 3));
};

const kills = arg("kills", 200);
let lastLine = 0;
const result = await runTorture({
  kills,
  timeLimitMs: arg("minutes", 5) * 60_000,
  log: (line) => {
    if (Date.now() - lastLine > 2_000) {
      lastLine = Date.now();
      process.stderr.write(`torture: ${line}\n`);
    }
  },
});
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
const broken =
  result.repeats +
    result.unexplainedLoss +
    result.cursorRegressions +
    result.parseFailures +
    result.waitRepeats +
    result.waitLost >
    0 || result.kills < kills;
process.stdout.write(
  broken
    ? "torture: FAILED\n"
    : `torture: ${result.kills} kills, ${result.eventsGiven} events given, nothing committed repeated, nothing lost, cursors never went back, the file always parsed\n`,
);
process.exit(broken ? 1 : 0);
