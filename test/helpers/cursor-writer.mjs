// Child process for the cursor-store tests: commits increasing cursors as fast as it can.
// argv: stateDir, source, identity list (comma separated), count (0 = until killed)
import { FileCursorStore } from "../../build/modules/cursors/file-cursor-store.js";
import { silentLogger } from "../../build/modules/log.js";

const [dir, source, identities, countArg] = process.argv.slice(2);
const store = await FileCursorStore.open(dir, silentLogger);
const ids = identities.split(",");
const count = Number(countArg);
for (let n = 1; count === 0 || n <= count; n++) {
  await Promise.all(ids.map((id) => store.commit(source, id, "pull", { cursor: n, order: n })));
  if (n % 50 === 0) process.send?.(n);
}
await store.close();
process.exit(0);
