import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { connectChild, ROOT, rssMiB, SERVER_ENTRY, serverEnv } from "../lib/mcp-child.mjs";
import { median, sleep, summary, withTimeout } from "../lib/stats.mjs";

/** The reference: the smallest useful SDK server, unbundled, importing the SDK from this repo. */
const TEN_LINE_SERVER = `import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const server = new McpServer({ name: "ten-line", version: "1.0.0" });
server.registerTool("echo", { description: "Echo text back", inputSchema: { text: z.string() } }, async ({ text }) => ({
  content: [{ type: "text", text }],
}));
await server.connect(new StdioServerTransport());
`;

/** spawn → initialize → tools/list answered; then, after a settle, the child's VmRSS. */
async function mcpSample(args, env, expectTools, settleMs) {
  const child = await connectChild({ args, env });
  try {
    const { tools } = await withTimeout(child.client.listTools(), 10_000, "tools/list");
    const ms = performance.now() - child.t0;
    if (tools.length < expectTools) throw new Error(`expected ${expectTools}+ tools, got ${tools.length}`);
    await sleep(settleMs);
    return { ms, rss: rssMiB(child.pid) };
  } finally {
    await child.close();
  }
}

/** spawn → exit of `node -e ''`: the floor for any Node program. */
function bareSample() {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ["-e", ""], { stdio: ["pipe", "pipe", "pipe"] });
    child.on("error", reject);
    child.on("exit", () => resolve(performance.now() - t0));
  });
}

/** VmRSS of a bare `node` waiting on stdin: the memory floor. */
async function bareRss(settleMs) {
  const child = spawn(process.execPath, ["-e", "process.stdin.resume()"], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  await sleep(settleMs);
  const rss = rssMiB(child.pid);
  child.kill("SIGKILL");
  return rss;
}

export async function measureStartup({ fake, stateDir, samples = 25, settleMs = 300 }) {
  const dir = join(ROOT, ".bench-tmp");
  await mkdir(dir, { recursive: true });
  const tenLine = join(dir, "ten-line-server.mjs");
  await writeFile(tenLine, TEN_LINE_SERVER);
  const localState = join(stateDir, "local");
  const kinds = {
    ours: () => mcpSample([SERVER_ENTRY], serverEnv(fake.url, stateDir), 3, settleMs),
    oursLocal: () =>
      mcpSample(
        [SERVER_ENTRY],
        { MAIL_EVENTS_STATE_DIR: localState, MAIL_EVENTS_SMTP_PORT: "0", MAIL_EVENTS_HTTP_PORT: "0" },
        3,
        settleMs,
      ),
    tenLine: () => mcpSample([tenLine], {}, 1, settleMs),
    bare: async () => ({ ms: await bareSample(), rss: await bareRss(settleMs) }),
  };
  const results = Object.fromEntries(Object.keys(kinds).map((k) => [k, { ms: [], rss: [] }]));
  // Interleaved in a shuffled order each round, so drift in machine load hits every kind alike.
  for (let i = 0; i < samples + 2; i++) {
    const order = Object.keys(kinds).sort(() => Math.random() - 0.5);
    for (const kind of order) {
      const sample = await kinds[kind]();
      if (i < 2) continue; // warm the page cache first
      results[kind].ms.push(sample.ms);
      results[kind].rss.push(sample.rss);
    }
  }
  return Object.fromEntries(
    Object.entries(results).map(([k, v]) => [
      k,
      { ms: summary(v.ms), rss: summary(v.rss), rssMedian: median(v.rss) },
    ]),
  );
}
