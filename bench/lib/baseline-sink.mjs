// The ingest figure's same-run baselines: a bare smtp-server sink on port 0, in a process of
// its own like the inbox. `node baseline-sink.mjs memory` reads each message and answers 250;
// `node baseline-sink.mjs fsync <dir>` first writes each message to a file of its own and
// fsyncs it — the least a sink can do whose 250 means "on disk". Prints its address as one
// JSON line on stdout, as `mail-events-mcp inbox` does.
import { open } from "node:fs/promises";
import { join } from "node:path";
import { SMTPServer } from "smtp-server";

const [mode, dir] = process.argv.slice(2);
let n = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ["STARTTLS", "AUTH"],
  logger: false,
  size: 1024 * 1024,
  onData(stream, _session, callback) {
    const chunks = [];
    stream.on("data", (chunk) => chunks.push(chunk));
    stream.on("end", async () => {
      if (mode !== "fsync") return callback(null, "queued");
      try {
        const file = await open(join(dir, `${++n}.eml`), "wx", 0o600);
        await file.writeFile(Buffer.concat(chunks));
        await file.sync();
        await file.close();
        callback(null, "queued");
      } catch (error) {
        callback(Object.assign(new Error(`could not store: ${error.message}`), { responseCode: 451 }));
      }
    });
  },
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ smtp: `smtp://127.0.0.1:${server.server.address().port}` })}\n`);
});
