import { isIP } from "node:net";
import { MailEventsError } from "../../errors.js";

/** An address only this machine can reach: `localhost`, 127.0.0.0/8 or `::1`. */
export function isLoopback(host: string): boolean {
  const name = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, "");
  if (name === "localhost") return true;
  if (isIP(name) === 4) return name.startsWith("127.");
  return name === "::1" || name === "::ffff:127.0.0.1";
}

/**
 * Every mail (sign-in codes included) is readable over the inbox's HTTP side, so binding
 * past loopback without a token would hand them to the network.
 */
export function requireTokenOffLoopback(host: string, token: string | undefined): void {
  if (isLoopback(host) || token !== undefined) return;
  throw new MailEventsError(
    "CONFIG_INVALID",
    `MAIL_EVENTS_INBOX_TOKEN (--inbox-token) is required when MAIL_EVENTS_LISTEN (--listen) is not a loopback address (got ${JSON.stringify(host)}): anyone who can reach it could read every mail`,
  );
}
