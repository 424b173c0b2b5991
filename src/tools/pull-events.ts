import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { ServerNotification, ServerRequest } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { eventForOutput, UNTRUSTED_BEGIN, UNTRUSTED_END } from "../mail/digest.js";
import { parseTypes } from "../mail/event.js";
import { oneLine } from "../mail/text.js";
import { callSignal, resolveIdentity, storedPosition, type ToolContext } from "./context.js";
import { guarded, toolResult } from "./result.js";
import { cursorValue, eventOutput, identityInput, typesInput } from "./schemas.js";

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export const pullEventsInput = {
  identity: identityInput,
  since: cursorValue
    .optional()
    .describe("Cursor to read after. Default: this identity's stored cursor, else the start of the log."),
  types: typesInput,
  limit: z.number().int().min(1).max(200).default(50).describe("Events per page, 1..200 (default 50)."),
  timeoutMs: z
    .number()
    .int()
    .min(0)
    .max(25_000)
    .default(0)
    .describe("Long-poll window, 0..25000 ms: return as soon as an event lands (default 0: return at once)."),
  commit: z
    .boolean()
    .default(true)
    .describe("Store the returned cursor so the next call continues after this page (default true)."),
};

export const pullEventsOutput = {
  identity: z.string(),
  events: z.array(eventOutput),
  cursor: cursorValue.nullable(),
  hasMore: z.boolean(),
};

type Input = { [K in keyof typeof pullEventsInput]: z.infer<(typeof pullEventsInput)[K]> };

export async function pullEvents(input: Input, extra: Extra, context: ToolContext) {
  const { source, cursors } = context;
  const identity = resolveIdentity(input.identity, context);
  // The previous reply's cursor reaches the disk before this page is read: a crash can then
  // repeat at most one page, and never loses one.
  await cursors.settled();
  if (input.since === undefined) await cursors.refresh();
  const since =
    input.since === undefined
      ? storedPosition(cursors.get(source.key, identity))
      : source.parseCursor(input.since);
  const page = await source.pull({
    identity,
    since,
    types: parseTypes(input.types),
    limit: input.limit,
    timeoutMs: input.timeoutMs,
    signal: callSignal(extra.signal, context),
  });
  // Stored once this reply is out: a crash in between repeats the page, never loses it.
  if (input.commit && page.position !== null) cursors.advanceAfterReply(source.key, identity, page.position);
  const events = page.events.map(eventForOutput);
  const cursor = page.position?.cursor ?? null;
  const lines = events
    .slice(0, 20)
    .map(
      (e) =>
        `${e.seq ?? oneLine(e.id, 100)} ${oneLine(e.type, 100)} ${e.receivedAt}${e.email?.subject ? ` ${oneLine(e.email.subject, 200)}` : ""}`,
    );
  const text = [
    `${events.length} event(s) for ${identity}; cursor ${cursor ?? "none"}${page.hasMore ? "; more waiting: call again now" : ""}.`,
    // Subjects (and vendor ids and types) come from email: fenced like a found email's body.
    ...(lines.length > 0 ? [UNTRUSTED_BEGIN, ...lines, UNTRUSTED_END] : []),
    ...(events.length > 20 ? [`… and ${events.length - 20} more in structuredContent`] : []),
  ].join("\n");
  return toolResult({ identity, events, cursor, hasMore: page.hasMore }, text);
}

export function registerPullEventsTool(server: McpServer, context: ToolContext): void {
  server.registerTool(
    "pull_events",
    {
      title: "Pull mailbox events",
      description:
        "Read one page of an identity's event log (received, sent, replied, bounced, delivery …) after a cursor. " +
        "By default continues from the stored cursor and stores the new one, so looping on this tool sees every " +
        "event exactly once, across restarts. Set timeoutMs to long-poll for new events; when hasMore is true, call " +
        "again at once.",
      inputSchema: pullEventsInput,
      outputSchema: pullEventsOutput,
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: true,
      },
    },
    guarded((input: Input, extra: Extra) => pullEvents(input, extra, context)),
  );
}
