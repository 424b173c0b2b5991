import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { VERBS, type Verb, type VerbFlag } from "./cli/verbs.js";
import type { Invocation } from "./config.js";
import { type ErrorCode, MailEventsError } from "./errors.js";
import { createServer, type ServerDeps } from "./server.js";
import { cursorInput } from "./tools/get-cursor.js";
import { pullEventsInput } from "./tools/pull-events.js";
import { cursorValue } from "./tools/schemas.js";
import { waitForEmailInput } from "./tools/wait-for-email.js";

/** Each tool's input schema, so a bad flag is refused by its flag name before any call. */
const INPUTS: Record<string, z.ZodObject> = {
  wait_for_email: z.object(waitForEmailInput),
  pull_events: z.object(pullEventsInput),
  get_cursor: z.object(cursorInput),
  set_cursor: z.object({ ...cursorInput, cursor: cursorValue }),
};

const see = (verb: Verb) => `see mail-events-mcp ${verb.name} --help`;

function flagValue(verb: Verb, f: VerbFlag, value: string | boolean): unknown {
  if (f.kind === "boolean") return f.flag === "no-commit" ? false : value;
  const text = String(value);
  if (f.kind === "cursor") return /^\d+$/.test(text) ? Number(text) : text;
  if (f.kind === "number") {
    const n = text.trim() === "" ? Number.NaN : Number(text);
    if (!Number.isFinite(n)) {
      throw new MailEventsError(
        "INVALID_INPUT",
        `--${f.flag} must be a number${f.value ? ` of ${f.value.toLowerCase()}` : ""}, got ${JSON.stringify(text)}; e.g. --${f.flag} 30 (${see(verb)})`,
      );
    }
    return n;
  }
  return text;
}

/** The tool's arguments from the verb's positionals and flags, checked against its schema. */
export function toolArguments(invocation: Invocation): Record<string, unknown> {
  const verb = VERBS[invocation.command];
  if (verb?.tool === undefined) {
    throw new MailEventsError(
      "CONFIG_INVALID",
      `unknown command ${invocation.command}; run mail-events-mcp --help`,
    );
  }
  const { options, positionals, config } = invocation;
  const args: Record<string, unknown> = {};
  // set-cursor: `<cursor>` alone, or `<identity> <cursor>`; get: `<id> [identity]`, any mail.
  const identity =
    verb.name === "set-cursor"
      ? positionals.length === 2
        ? positionals[0]
        : undefined
      : verb.name === "get"
        ? (positionals[1] ?? config.identity ?? "*")
        : positionals[0];
  if ((identity ?? config.identity) !== undefined) args.identity = identity ?? config.identity;
  if (verb.name === "get") args.id = positionals[0];
  if (verb.name === "set-cursor") {
    const cursor = positionals.at(-1) ?? "";
    args.cursor = /^\d+$/.test(cursor) ? Number(cursor) : cursor;
  }
  for (const f of verb.flags) {
    const value = options[f.flag];
    if (value !== undefined) args[f.param] = flagValue(verb, f, value);
  }
  const checked = INPUTS[verb.tool]?.safeParse(args);
  if (checked && !checked.success) {
    const issue = checked.error.issues[0];
    const param = String(issue?.path[0] ?? "");
    const flag = verb.flags.find((f) => f.param === param);
    const name = flag
      ? `--${flag.flag}`
      : param === "cursor"
        ? "<cursor>"
        : param === "identity"
          ? "[identity]"
          : param;
    const got = args[param] === undefined ? "" : ` (got ${JSON.stringify(args[param])})`;
    throw new MailEventsError(
      "INVALID_INPUT",
      `${name}: ${issue?.message ?? "is invalid"}${got}; ${see(verb)}`,
    );
  }
  return args;
}

/** A tool's error text in the shell's words: `since` becomes `--since`, and so on. */
function inShellWords(verb: Verb, text: string): string {
  let out = text;
  for (const f of verb.flags) {
    out = out.replaceAll(`\`${f.param}\``, `--${f.flag}`);
    if (f.kind === "boolean") out = out.replaceAll(`\`${f.param}: false\``, `--${f.flag}`);
  }
  return out
    .replaceAll("MAIL_EVENTS_IDENTITY", "MAIL_EVENTS_IDENTITY (--identity)")
    .replace(/ \(--identity\) \(--identity\)/g, " (--identity)");
}

/**
 * `wait | pull | cursor | set-cursor` from a shell: the same tool code as over MCP (an
 * in-memory client calls the real server), JSON on `write`. Exit code: 0 ok, 1 wait timed
 * out; errors throw MailEventsError (main prints one line and exits 2).
 */
export async function runToolCommand(
  invocation: Invocation,
  deps: ServerDeps,
  write: (text: string) => void,
  signal: AbortSignal,
): Promise<number> {
  const verb = VERBS[invocation.command] as Verb;
  const args = toolArguments(invocation);
  const { connect, cleanup } = createServer(deps);
  const client = new Client({ name: "mail-events-mcp-cli", version: "0" });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await connect(serverSide);
  await client.connect(clientSide);
  try {
    const result = (await client.callTool({ name: verb.tool as string, arguments: args }, undefined, {
      signal,
      timeout: 700_000,
      resetTimeoutOnProgress: true,
    })) as CallToolResult;
    if (result.isError) {
      const text = result.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
      const [, code = "INVALID_INPUT", message = text] = /^\[([A-Z_]+)\] ([\s\S]*)$/.exec(text) ?? [];
      throw new MailEventsError(code as ErrorCode, inShellWords(verb, message));
    }
    write(`${JSON.stringify(result.structuredContent, null, 2)}\n`);
    return verb.name === "wait" && result.structuredContent?.found === false ? 1 : 0;
  } finally {
    await client.close();
    await cleanup();
  }
}
