import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { Invocation } from "./config.js";
import { MailEventsError } from "./errors.js";
import { createServer, type ServerDeps } from "./server.js";

const TOOLS: Record<string, string> = {
  wait: "wait_for_email",
  pull: "pull_events",
  cursor: "get_cursor",
  get: "get_email",
};

function number(options: Invocation["options"], flag: string): number | undefined {
  const value = options[flag];
  if (value === undefined || typeof value === "boolean") return undefined;
  const n = Number(value);
  if (!Number.isFinite(n))
    throw new MailEventsError("INVALID_INPUT", `--${flag} must be a number, got ${JSON.stringify(value)}`);
  return n;
}

function toolArguments(invocation: Invocation): Record<string, unknown> {
  const { options, positionals, config } = invocation;
  // `get <id> [identity]`: the email id comes first.
  if (invocation.command === "get") {
    if (positionals[0] === undefined)
      throw new MailEventsError("INVALID_INPUT", "get needs an email id: get <id>");
    const identity = positionals[1] ?? config.identity ?? "*";
    return { id: positionals[0], identity };
  }
  const args: Record<string, unknown> = {};
  const identity = positionals[0] ?? config.identity;
  if (identity !== undefined) args.identity = identity;
  const put = (key: string, value: unknown) => {
    if (value !== undefined) args[key] = value;
  };
  if (invocation.command === "wait") {
    put("from", options.from);
    put("subject", options.subject);
    put("contains", options.contains);
    put("timeoutSeconds", number(options, "timeout"));
    put("maxAgeSeconds", number(options, "max-age"));
  } else if (invocation.command === "pull") {
    const since = options.since;
    put("since", typeof since === "string" && /^\d+$/.test(since) ? Number(since) : since);
    put("types", options.types);
    put("limit", number(options, "limit"));
    put("timeoutMs", number(options, "timeout"));
    if (options["no-commit"]) args.commit = false;
  }
  return args;
}

/**
 * `wait | pull | cursor` from a shell: the same tool code as over MCP (an in-memory client
 * calls the real server), JSON on `write`. Exit code: 0 ok, 1 wait timed out, 2 error.
 */
export async function runToolCommand(
  invocation: Invocation,
  deps: ServerDeps,
  write: (text: string) => void,
  signal: AbortSignal,
): Promise<number> {
  const name = TOOLS[invocation.command];
  if (name === undefined) throw new MailEventsError("INVALID_INPUT", `unknown command ${invocation.command}`);
  const { connect, cleanup } = createServer(deps);
  const client = new Client({ name: "mail-events-mcp-cli", version: "0" });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await connect(serverSide);
  await client.connect(clientSide);
  try {
    const result = (await client.callTool({ name, arguments: toolArguments(invocation) }, undefined, {
      signal,
      timeout: 700_000,
      resetTimeoutOnProgress: true,
    })) as CallToolResult;
    if (result.isError) {
      const text = result.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
      throw new MailEventsError("INVALID_INPUT", text.replace(/^\[[A-Z_]+\] /, ""));
    }
    write(`${JSON.stringify(result.structuredContent, null, 2)}\n`);
    return invocation.command === "wait" && result.structuredContent?.found === false ? 1 : 0;
  } finally {
    await client.close();
    await cleanup();
  }
}
