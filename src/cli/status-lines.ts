import { type Config, redact } from "../config.js";
import { isMailEventsError } from "../errors.js";
import type { RunningInbox } from "../inbox/index.js";

/** The one stderr line a failed command leaves: `[CODE] what happened; what to do`, never a stack. */
export function failureLine(error: unknown): string {
  const message = isMailEventsError(error)
    ? `[${error.code}] ${error.message}`
    : `[INTERNAL] unexpected error: ${String((error as Error)?.message ?? error).split("\n")[0]}; this is a bug in mail-events-mcp — please report it (MAIL_EVENTS_DEBUG=1 shows where)`;
  return `mail-events-mcp: ${message}\n`;
}

/**
 * What `serve` says once it can be used: where the local inbox listens (its page is at the
 * HTTP URL's `/`), or, with no inbox, which hosted source it reads.
 */
export function serveReadyLine(config: Config, running?: RunningInbox): string {
  const identity = config.identity === undefined ? "no default identity" : `identity ${config.identity}`;
  if (running === undefined)
    return `ready: MCP on stdio; source ${config.source} at ${redact(config.url ?? "", config)}; ${identity}`;
  return (
    `ready: MCP on stdio; local inbox SMTP smtp://127.0.0.1:${running.smtpPort}, HTTP ${running.httpUrl.replace(/\/*$/, "/")}` +
    `${running.owned ? "" : " (shared with the inbox already running)"}; ${identity}; state ${config.stateDir}`
  );
}

/** `inbox`'s stderr line, and the JSON of its addresses that is the command's stdout. */
export const inboxLines = (config: Config, running: RunningInbox): { log: string; stdout: string } => ({
  log: `local inbox: SMTP smtp://127.0.0.1:${running.smtpPort}  HTTP ${running.httpUrl}  state ${config.stateDir}`,
  stdout: `${JSON.stringify({ smtp: `smtp://127.0.0.1:${running.smtpPort}`, http: running.httpUrl })}\n`,
});
