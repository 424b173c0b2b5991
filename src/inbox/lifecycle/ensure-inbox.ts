import { setTimeout as sleep } from "node:timers/promises";
import { PortInUseError } from "../../errors.js";
import type { InboxOptions, RunningInbox } from "../types.js";
import { probeHealth } from "./health.js";
import { startInbox } from "./start-inbox.js";

/** How long to keep looking when a port is taken but nothing answers yet (a peer starting or stopping). */
const SETTLE_MS = 3_000;

/**
 * Starts the local inbox, or — when its ports are held by a mail-events-mcp inbox that is
 * already running (another MCP host's server, or `mail-events-mcp inbox`) — uses that one,
 * so any number of servers on one machine share one inbox. Anything else on those ports is
 * an error naming the port and the variable to change.
 */
export async function ensureInbox(options: InboxOptions): Promise<RunningInbox> {
  const host = options.host ?? "127.0.0.1";
  const until = Date.now() + SETTLE_MS;
  for (;;) {
    let conflict: PortInUseError;
    try {
      return await startInbox(options);
    } catch (error) {
      if (!(error instanceof PortInUseError) || options.httpPort === 0) throw error;
      conflict = error;
    }
    const probe = await probeHealth(host, options.httpPort, 10_000, options.token);
    if (probe.kind === "locked") {
      throw new PortInUseError(
        "http",
        conflict.port,
        "a mail-events-mcp inbox runs there but does not take our token; set MAIL_EVENTS_TOKEN to the token it was started with",
        conflict,
      );
    }
    if (probe.kind === "inbox") {
      const { health } = probe;
      if (options.smtpPort !== 0 && health.smtpPort !== options.smtpPort) {
        throw new PortInUseError(
          "smtp",
          options.smtpPort,
          `the inbox already running on HTTP port ${options.httpPort} takes mail on SMTP port ${health.smtpPort}, not this one`,
          conflict,
        );
      }
      options.log.info(
        `local inbox: using the one already running (process ${health.pid}, SMTP port ${health.smtpPort}, HTTP port ${options.httpPort})`,
      );
      return {
        smtpPort: health.smtpPort,
        httpUrl: `http://${host}:${options.httpPort}`,
        owned: false,
        close: async () => {},
      };
    }
    // Listeners bind HTTP first and close SMTP first, so a taken SMTP port beside a free
    // HTTP port is some other program, not a peer starting or stopping: no point waiting.
    if (probe.kind === "other" || conflict.which === "smtp" || Date.now() >= until) {
      throw probe.kind === "other" && conflict.which === "http"
        ? new PortInUseError("http", conflict.port, `another program holds it (${probe.detail})`, conflict)
        : conflict;
    }
    await sleep(100);
  }
}
