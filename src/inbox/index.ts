import type { Logger } from "../log.js";

export interface InboxOptions {
  stateDir: string;
  smtpPort: number;
  httpPort: number;
  /** Bearer token the HTTP side requires, if any. */
  token?: string | undefined;
  log: Logger;
}

export interface RunningInbox {
  smtpPort: number;
  /** Base URL of the cursor endpoint, e.g. http://127.0.0.1:2580 */
  httpUrl: string;
  /** False when another process's inbox on these ports is being used. */
  owned: boolean;
  close(): Promise<void>;
}

/** PLACEHOLDER until the local inbox lands (issue 3). */
export async function startInbox(_options: InboxOptions): Promise<RunningInbox> {
  throw new Error("the local inbox is not built yet");
}

export async function ensureInbox(options: InboxOptions): Promise<RunningInbox> {
  return startInbox(options);
}
