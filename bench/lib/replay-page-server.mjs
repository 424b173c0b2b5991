// The walk figure's same-run baseline: an SDK server (unbundled, like the ten-line one) whose
// only tool answers every call with one page captured from our server's walk, read from the
// JSON file named by argv[2]. It does no upstream request, no formatting, no cursor write and
// no output validation: what is left is the SDK, stdio and JSON cost of a page that size.
import { readFileSync } from "node:fs";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const page = JSON.parse(readFileSync(process.argv[2], "utf8"));
const server = new McpServer({ name: "replay-page", version: "1.0.0" });
server.registerTool(
  "pull_events",
  { description: "One captured page", inputSchema: { identity: z.string(), limit: z.number() } },
  async () => page,
);
await server.connect(new StdioServerTransport());
