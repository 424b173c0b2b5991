// Child process for the lock tests, set up as main.ts sets up the real server.
// argv: "hold" lockPath markerFile  — takes the lock, says "held", and on "release" writes
//        markerFile, then releases and exits;
//       "count" lockPath counterFile n — n times, under the lock: read the counter, add 1, write;
//       "claim" store prefix claimJson — opens the cursor store (a state dir, or a redis:// URL
//        with key prefix), claims [source, identity, email] for a wait, says "claimed" (or
//        "refused"), and stays until killed.
import { readFileSync, writeFileSync } from "node:fs";
import { withLock } from "../../build/modules/cursors/durable-file.js";
import { FileCursorStore } from "../../build/modules/cursors/file-cursor-store.js";
import { RedisCursorStore } from "../../build/modules/cursors/redis-cursor-store.js";
import { tryLock } from "../../build/modules/lock/pid-lock.js";
import { processProbe, setDefaultProcessProbe } from "../../build/modules/lock/process-probe.js";
import { silentLogger } from "../../build/modules/log.js";
import { parseStoreUrl } from "../../build/modules/store/store-url.js";

setDefaultProcessProbe(processProbe(process));
const [mode, lockPath, file, countArg] = process.argv.slice(2);
if (mode === "hold") {
  const tried = tryLock(lockPath);
  if (tried.lock === undefined) process.exit(3);
  process.on("message", (message) => {
    if (message !== "release") return;
    writeFileSync(file, "released");
    tried.lock.release();
    process.exit(0);
  });
  process.send?.("held");
} else if (mode === "count") {
  for (let i = 0; i < Number(countArg); i++) {
    await withLock(lockPath, () => {
      let n = 0;
      try {
        n = Number(readFileSync(file, "utf8"));
      } catch {}
      writeFileSync(file, String(n + 1));
    });
  }
  process.exit(0);
} else if (mode === "claim") {
  const store = lockPath.startsWith("redis://")
    ? new RedisCursorStore(parseStoreUrl(lockPath), silentLogger, { prefix: file })
    : await FileCursorStore.open(lockPath, silentLogger);
  const [source, identity, email] = JSON.parse(countArg);
  const result = await store.claim(source, identity, email, undefined);
  process.send?.(result.claimed ? "claimed" : "refused");
  setInterval(() => {}, 60_000);
}
