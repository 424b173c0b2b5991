// What each shell verb accepts: its flags (and the tool parameter each one sets), its
// positional arguments and its help. config.ts refuses what a verb does not take; cli.ts turns
// the rest into a tool call; main.ts prints the help.

export interface VerbFlag {
  /** The flag as typed, without `--`. */
  flag: string;
  /** The tool parameter it sets (undefined: read by the CLI itself). */
  param: string;
  kind: "string" | "number" | "boolean" | "cursor";
  /** Placeholder in the help, e.g. `SECONDS`. */
  value?: string;
  help: string;
}

export interface Verb {
  name: string;
  tool?: string;
  /** The arguments after the verb, as the help shows them. */
  args: string;
  /** Positional arguments: at least, at most. */
  positionals: [number, number];
  summary: string;
  flags: VerbFlag[];
  /** Arguments for the example in a "needs …" error, when the verb has required ones. */
  example?: string;
}

const typesFlag = (help: string): VerbFlag => ({
  flag: "types",
  param: "types",
  kind: "string",
  value: "a,b",
  help,
});
/** `cursor` and `set-cursor` name a pull consumer by the types filter its pulls use. */
const consumerFlag = typesFlag(
  "which consumer: the --types filter its pulls use (default: the unfiltered one)",
);

export const VERBS: Record<string, Verb> = {
  serve: {
    name: "serve",
    args: "",
    positionals: [0, 0],
    summary: "MCP server on stdio (the default); prints one `ready:` line on stderr when it is up",
    flags: [],
  },
  inbox: {
    name: "inbox",
    args: "",
    positionals: [0, 0],
    summary: "run the local inbox alone (SMTP + HTTP on 127.0.0.1); its addresses as JSON on stdout",
    flags: [],
  },
  wait: {
    name: "wait",
    tool: "wait_for_email",
    args: "[identity]",
    positionals: [0, 1],
    summary: "wait for an email; JSON on stdout; exit 1 when none came in time",
    flags: [
      {
        flag: "from",
        param: "from",
        kind: "string",
        value: "S",
        help: "sender address or name: substring or /regex/",
      },
      {
        flag: "to",
        param: "to",
        kind: "string",
        value: "S",
        help: "a recipient address: substring or /regex/",
      },
      {
        flag: "subject",
        param: "subject",
        kind: "string",
        value: "S",
        help: "subject: substring or /regex/",
      },
      {
        flag: "contains",
        param: "contains",
        kind: "string",
        value: "S",
        help: "body text: substring or /regex/",
      },
      {
        flag: "after",
        param: "after",
        kind: "string",
        value: "ID",
        help: "only mail that arrived after this email id (replaces --max-age)",
      },
      {
        flag: "timeout",
        param: "timeoutSeconds",
        kind: "number",
        value: "SECONDS",
        help: "how long to wait, 0..600 (default 50)",
      },
      {
        flag: "max-age",
        param: "maxAgeSeconds",
        kind: "number",
        value: "SECONDS",
        help: "ignore mail older than this (default 120)",
      },
    ],
  },
  pull: {
    name: "pull",
    tool: "pull_events",
    args: "[identity]",
    positionals: [0, 1],
    summary: "one page of events after the stored cursor (or --since); JSON on stdout",
    flags: [
      {
        flag: "since",
        param: "since",
        kind: "cursor",
        value: "CURSOR",
        help: "read after this cursor (default: the stored one)",
      },
      typesFlag("event types to keep, e.g. email.received,email.bounced (each filter has its own cursor)"),
      {
        flag: "limit",
        param: "limit",
        kind: "number",
        value: "N",
        help: "events per page, 1..200 (default 50)",
      },
      {
        flag: "timeout",
        param: "timeoutMs",
        kind: "number",
        value: "MS",
        help: "long-poll window, 0..25000 ms (default 0)",
      },
      { flag: "no-commit", param: "commit", kind: "boolean", help: "do not store the returned cursor" },
      {
        flag: "group",
        param: "group",
        kind: "string",
        value: "NAME",
        help: "consumer group: workers in one group each get different events",
      },
    ],
  },
  cursor: {
    name: "cursor",
    tool: "get_cursor",
    args: "[identity]",
    positionals: [0, 1],
    summary: "the stored cursor of a pull consumer; JSON on stdout",
    flags: [consumerFlag],
  },
  "set-cursor": {
    name: "set-cursor",
    tool: "set_cursor",
    args: "[identity] <cursor>",
    positionals: [1, 2],
    summary: "move a pull consumer's stored cursor (0 replays the whole log); JSON on stdout",
    flags: [consumerFlag],
  },
  get: {
    name: "get",
    tool: "get_email",
    args: "<id> [identity]",
    positionals: [1, 2],
    summary: "one email in full (text, cc, headers, codes, links, attachments); JSON on stdout",
    flags: [],
    example: "evt_…_12 (an id from wait or pull)",
  },
};

/** Every verb flag, for the one argv parse (a verb's own list is checked after it). */
export function allVerbFlags(): Record<string, { type: "string" | "boolean" }> {
  const out: Record<string, { type: "string" | "boolean" }> = {};
  for (const verb of Object.values(VERBS)) {
    for (const f of verb.flags) out[f.flag] = { type: f.kind === "boolean" ? "boolean" : "string" };
  }
  return out;
}

/** `<verb> --help`: the verb's own arguments and flags. */
export function verbUsage(verb: Verb, version: string): string {
  const flags = verb.flags.map((f) => {
    const left = `  --${f.flag}${f.value ? ` ${f.value}` : ""}`;
    return `${left.padEnd(24)} ${f.help}`;
  });
  return [
    `mail-events-mcp ${version}`,
    "",
    `Usage: mail-events-mcp ${verb.name}${verb.args ? ` ${verb.args}` : ""}${flags.length > 0 ? " [flags]" : ""}`,
    "",
    `  ${verb.summary}`,
    ...(verb.args.includes("identity")
      ? [
          "",
          "  identity: mailbox address (local: `*` sees all mail); default MAIL_EVENTS_IDENTITY (--identity)",
        ]
      : []),
    ...(flags.length > 0 ? ["", "Flags:", ...flags] : []),
    "",
    "Settings (--source, --url, --token, --identity, --state-dir, --smtp-port, --http-port, --store):",
    "  see mail-events-mcp --help",
    "",
  ].join("\n");
}
