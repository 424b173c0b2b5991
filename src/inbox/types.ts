import type { Logger } from "../log.js";
import type { StoreSpec } from "../store/store-url.js";
import type { Retention } from "./log/log-index.js";
import type { SmtpLimits } from "./smtp/smtp-limits.js";

export interface InboxOptions {
  stateDir: string;
  /** 0 picks a free port; `RunningInbox.smtpPort` reports it. */
  smtpPort: number;
  /** 0 picks a free port; `RunningInbox.httpUrl` reports it. */
  httpPort: number;
  /** Bearer token the HTTP side requires, if any. */
  token?: string | undefined;
  log: Logger;
  /** Interface to listen on. Default 127.0.0.1: the inbox is for this machine only. */
  host?: string;
  /** Largest message accepted, bytes (default 10 MiB); larger gets an SMTP 552. */
  maxMessageBytes?: number;
  /** Recipients per message (default 100). */
  maxRecipients?: number;
  /** Connection cap and session time limits of the SMTP side (defaults: `DEFAULT_SMTP_LIMITS`). */
  smtpLimits?: Partial<SmtpLimits>;
  /** Events kept: newest per identity (default 10,000) and in all (default 100,000). */
  retention?: Partial<Retention>;
  /**
   * Where the log lives: the state directory (`file`, the default) or, with `redis://…`,
   * Redis Streams, one log for every inbox on that store (SPEC §9).
   */
  store?: StoreSpec | undefined;
  /** Dead bytes in the log before it is compacted (default 16 MiB). */
  compactMinBytes?: number;
  /** Mails-dialect SSE connection window (default 25 s) and keepalive interval (default 2 s). */
  mailsWindowMs?: number;
  mailsKeepaliveMs?: number;
  /** Molted-dialect SSE keepalive interval (default 15 s). */
  moltedKeepaliveMs?: number;
}

export interface RunningInbox {
  smtpPort: number;
  /** Base URL of the cursor endpoint, e.g. http://127.0.0.1:2580 */
  httpUrl: string;
  /** False when another process's inbox on these ports is being used. */
  owned: boolean;
  /** The original bytes of email `id` (in-process inboxes only); undefined once dropped. */
  rawMessage?(id: string): Promise<Buffer | undefined>;
  close(): Promise<void>;
}
