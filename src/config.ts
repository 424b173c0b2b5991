import { parseArgs } from "node:util";
import envPaths from "env-paths";
import { z } from "zod";
import { allVerbFlags, VERBS } from "./cli/verbs.js";
import { MailEventsError } from "./errors.js";
import { requireTokenOffLoopback } from "./inbox/lifecycle/listen-check.js";
import { storeSetting } from "./store/store-url.js";

/** Each setting: its environment variable and its command-line flag (same meaning). */
const SETTINGS = {
  source: { env: "MAIL_EVENTS_SOURCE", flag: "source" },
  url: { env: "MAIL_EVENTS_URL", flag: "url" },
  token: { env: "MAIL_EVENTS_TOKEN", flag: "token" },
  identity: { env: "MAIL_EVENTS_IDENTITY", flag: "identity" },
  stateDir: { env: "MAIL_EVENTS_STATE_DIR", flag: "state-dir" },
  smtpPort: { env: "MAIL_EVENTS_SMTP_PORT", flag: "smtp-port" },
  httpPort: { env: "MAIL_EVENTS_HTTP_PORT", flag: "http-port" },
  store: { env: "MAIL_EVENTS_STORE", flag: "store" },
  listen: { env: "MAIL_EVENTS_LISTEN", flag: "listen" },
  inboxToken: { env: "MAIL_EVENTS_INBOX_TOKEN", flag: "inbox-token" },
} as const;

type Setting = keyof typeof SETTINGS;

const port = z.coerce
  .number({ error: "must be a port number" })
  .int({ error: "must be a whole number" })
  .min(0, { error: "must be 0..65535" })
  .max(65535, { error: "must be 0..65535" });

const ConfigSchema = z.object({
  source: z.enum(["local", "inboxbase", "mails", "molted"], {
    error: "must be one of local, inboxbase, mails, molted",
  }),
  url: z
    .url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" })
    // Credentials in the URL would reach every log line and error that names the URL.
    .refine((u) => !/^[a-z]+:\/\/[^/?#]*@/i.test(u), {
      error: "must not carry a user name or password; put the token in MAIL_EVENTS_TOKEN (--token)",
    })
    .transform((u) => u.replace(/\/+$/, ""))
    .optional(),
  token: z.string().min(1, { error: "must not be empty" }).optional(),
  identity: z.string().trim().min(1, { error: "must not be empty" }).max(320).optional(),
  stateDir: z.string().min(1, { error: "must not be empty" }),
  smtpPort: port,
  httpPort: port,
  store: storeSetting,
  listen: z.string().trim().min(1, { error: "must not be empty" }).max(255),
  inboxToken: z.string().min(1, { error: "must not be empty" }).optional(),
});

export type Config = Readonly<z.infer<typeof ConfigSchema>>;
export type SourceName = Config["source"];

/** The command a user typed (`serve` when none) and the arguments that are not flags. */
export interface Invocation {
  command: string;
  positionals: string[];
  /** Flags that belong to the command, not to the config (e.g. `--timeout` for `wait`). */
  options: Record<string, string | boolean | undefined>;
  config: Config;
}

const COMMAND_FLAGS = {
  ...allVerbFlags(),
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
} as const;

/** The verb `--help` is about: the first word of argv that names one (none: the general help). */
const helpTopic = (argv: readonly string[]): string[] => {
  const verb = argv.find((a) => a === "help" || Object.hasOwn(VERBS, a));
  const next = verb === "help" ? argv[argv.indexOf("help") + 1] : verb;
  return next !== undefined && Object.hasOwn(VERBS, next) ? [next] : [];
};

/** A verb's flags and argument count, checked before anything starts. */
function checkVerb(command: string, positionals: string[], options: Record<string, unknown>): void {
  const verb = VERBS[command];
  if (verb === undefined || !Object.hasOwn(VERBS, command)) return;
  const own = new Set(verb.flags.map((f) => f.flag));
  for (const [flag, value] of Object.entries(options)) {
    if (value === undefined || own.has(flag)) continue;
    const list =
      verb.flags.length === 0 ? "it takes none" : `its flags are ${[...own].map((f) => `--${f}`).join(", ")}`;
    throw new MailEventsError(
      "CONFIG_INVALID",
      `--${flag} is not a flag of \`${command}\` (${list}); see mail-events-mcp ${command} --help`,
    );
  }
  const [least, most] = verb.positionals;
  if (positionals.length > most) {
    const extra = positionals
      .slice(most)
      .map((p) => JSON.stringify(p))
      .join(" ");
    throw new MailEventsError(
      "CONFIG_INVALID",
      `\`${command}\` takes ${verb.args ? `only ${verb.args}` : "no arguments"}, got extra ${extra}; quote a value that holds spaces, or see mail-events-mcp ${command} --help`,
    );
  }
  if (positionals.length < least) {
    throw new MailEventsError(
      "CONFIG_INVALID",
      `\`${command}\` is missing an argument: mail-events-mcp ${command} ${verb.args}; e.g. mail-events-mcp ${command} ${verb.example ?? "agent@example.test 0"} (see mail-events-mcp ${command} --help)`,
    );
  }
}

/**
 * Reads env and argv into a frozen Config. Flags win over env. A bad value throws
 * CONFIG_INVALID whose message is one line naming the variable and its flag.
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  argv: readonly string[],
  defaultStateDir: () => string = () => envPaths("mail-events-mcp", { suffix: "" }).data,
): Invocation {
  const configFlags = Object.fromEntries(
    Object.values(SETTINGS).map(({ flag }) => [flag, { type: "string" as const }]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...configFlags, ...COMMAND_FLAGS },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    // `--help` and `--version` work whatever else the command line holds (SPEC §2).
    if (argv.some((a) => a === "--help" || a === "-h")) return bare("help", defaultStateDir, helpTopic(argv));
    if (argv.some((a) => a === "--version" || a === "-v")) return bare("version", defaultStateDir);
    const [topic] = helpTopic(argv);
    const help = topic === undefined ? "mail-events-mcp --help" : `mail-events-mcp ${topic} --help`;
    const unknown = /^Unknown option '([^']*)'/.exec((error as Error).message)?.[1];
    const own = topic === undefined ? [] : (VERBS[topic]?.flags ?? []).map((f) => `--${f.flag}`);
    const message =
      unknown === undefined
        ? (error as Error).message
        : `unknown flag ${unknown}${topic === undefined ? "" : ` for \`${topic}\` (${own.length === 0 ? "it takes only the settings" : `its flags are ${own.join(", ")}`})`}`;
    throw new MailEventsError("CONFIG_INVALID", `${redact(message, env)}; see ${help}`);
  }
  if (parsed.values.help || parsed.positionals[0] === "help")
    return bare("help", defaultStateDir, helpTopic(argv));
  if (parsed.values.version) return bare("version", defaultStateDir);
  const raw: Partial<Record<Setting, string>> = {};
  for (const [key, { env: name, flag }] of Object.entries(SETTINGS) as [
    Setting,
    (typeof SETTINGS)[Setting],
  ][]) {
    const value = parsed.values[flag] ?? env[name];
    if (typeof value === "string" && value !== "") raw[key] = value;
  }
  const result = ConfigSchema.safeParse({
    source: raw.source ?? "local",
    url: raw.url,
    token: raw.token,
    identity: raw.identity,
    stateDir: raw.stateDir ?? defaultStateDir(),
    smtpPort: raw.smtpPort ?? "2525",
    httpPort: raw.httpPort ?? "2580",
    store: raw.store ?? "file",
    listen: raw.listen ?? "127.0.0.1",
    inboxToken: raw.inboxToken,
  });
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = (issue?.path[0] ?? "source") as Setting;
    const { env: name, flag } = SETTINGS[key];
    // A store URL may carry a password.
    const secret = key === "token" || key === "inboxToken" || (key === "store" && raw.store?.includes("@"));
    const shown = secret ? "" : ` (got ${JSON.stringify(redact(raw[key] ?? "", raw))})`;
    throw new MailEventsError(
      "CONFIG_INVALID",
      `${name} (--${flag}) ${issue?.message ?? "is invalid"}${shown}`,
    );
  }
  const config = result.data;
  if (config.source !== "local" && config.url === undefined) {
    throw new MailEventsError(
      "CONFIG_INVALID",
      `MAIL_EVENTS_URL (--url) is required when MAIL_EVENTS_SOURCE is ${config.source}: set it to your ${config.source} API base URL`,
    );
  }
  requireTokenOffLoopback(config.listen, config.inboxToken);
  const { help: _help, version: _version, ...options } = parsed.values;
  for (const flag of Object.values(SETTINGS)) delete options[flag.flag];
  const [command = "serve", ...positionals] = parsed.positionals;
  checkVerb(command, positionals, options);
  return {
    command,
    positionals,
    options: options as Invocation["options"],
    config: Object.freeze(config),
  };
}

/** `help` or `version`: the defaults stand in for a config the environment may have broken. */
function bare(command: "help" | "version", defaultStateDir: () => string, topic: string[] = []): Invocation {
  const config = ConfigSchema.parse({
    source: "local",
    stateDir: defaultStateDir(),
    smtpPort: "2525",
    httpPort: "2580",
    store: "file",
    listen: "127.0.0.1",
  });
  return { command, positionals: topic, options: {}, config: Object.freeze(config) };
}

/**
 * A value fit to echo in an error: a URL's user name, password and query are masked, and so
 * is the token wherever it appears (a user may paste it into the wrong variable).
 */
export function redact(
  text: string,
  values: { token?: string | undefined; MAIL_EVENTS_TOKEN?: string | undefined },
): string {
  let out = text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/?#\s]*@/gi, "$1***@")
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s?#]*)\?[^\s#"]*/gi, "$1?***");
  for (const secret of [values.token, values.MAIL_EVENTS_TOKEN]) {
    if (secret !== undefined && secret.length >= 4) out = out.split(secret).join("***");
  }
  return out;
}
