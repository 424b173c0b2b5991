import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { describe, expect, it } from "vitest";
import { requireDist, tempDir } from "./helpers/smtp-inbox.js";

const REPO = join(import.meta.dirname, "..");
const text = readFileSync(join(REPO, "mcp.json.example"), "utf8").replaceAll(
  "/ABSOLUTE/PATH/TO/mail-events-mcp",
  REPO,
);
const example = JSON.parse(text) as Record<string, unknown>;

interface Entry {
  command: string;
  args?: string[];
  env?: Record<string, string>;
}

/** Every server entry of the host snippets that runs from the clone (not the installed bin). */
function cloneEntries(): [string, Entry][] {
  const out: [string, Entry][] = [];
  for (const [host, value] of Object.entries(example)) {
    const servers =
      (value as { mcpServers?: object; servers?: object }).mcpServers ??
      (value as { servers?: object }).servers;
    for (const [name, entry] of Object.entries(servers ?? {}) as [string, Entry][]) {
      if (entry.command === "node") out.push([`${host} / ${name}`, entry]);
    }
  }
  return out;
}

describe("mcp.json.example", () => {
  it("never starts the server through npm or npx (their banner on stdout breaks JSON-RPC)", () => {
    expect(text).not.toMatch(/"command":\s*"(npm|npx)"/);
    expect(text).not.toMatch(/--\s+npm |--\s+npx /);
  });

  it("has claude mcp add and add-json lines, and the add-json JSON parses", () => {
    const lines = example["Claude Code (shell commands, not JSON)"] as string[];
    expect(lines.some((l) => l.startsWith("claude mcp add mail-events "))).toBe(true);
    const addJson = lines.find((l) => l.startsWith("claude mcp add-json "));
    const json = /'(.*)'$/.exec(addJson ?? "")?.[1] ?? "";
    expect(JSON.parse(json)).toMatchObject({ type: "stdio", command: "node" });
  });

  it.each(cloneEntries())("%s starts a server that lists its tools over stdio", async (_name, entry) => {
    requireDist();
    const state = await tempDir();
    const transport = new StdioClientTransport({
      command: entry.command === "node" ? process.execPath : entry.command,
      args: entry.args ?? [],
      env: {
        PATH: process.env.PATH ?? "",
        ...entry.env,
        MAIL_EVENTS_STATE_DIR: state,
        MAIL_EVENTS_SMTP_PORT: "0",
        MAIL_EVENTS_HTTP_PORT: "0",
      },
      stderr: "pipe",
    });
    const client = new Client({ name: "host-config", version: "0" });
    try {
      await client.connect(transport);
      expect((await client.listTools()).tools.map((t) => t.name)).toContain("wait_for_email");
    } finally {
      await client.close();
      await rm(state, { recursive: true, force: true });
    }
  });
});
