import { MailEventsError } from "../../errors.js";

/** Which listener could not bind, with the variable (and flag) that moves it. */
export const PORT_SETTING = {
  smtp: { name: "SMTP", env: "MAIL_EVENTS_SMTP_PORT", flag: "--smtp-port" },
  http: { name: "HTTP", env: "MAIL_EVENTS_HTTP_PORT", flag: "--http-port" },
} as const;

/**
 * A port the inbox needs is taken (or forbidden). `ensureInbox` catches it to look for a
 * running inbox there; otherwise the message tells the user which variable to change.
 */
export class PortInUseError extends MailEventsError {
  readonly which: keyof typeof PORT_SETTING;
  readonly port: number;

  constructor(which: keyof typeof PORT_SETTING, port: number, detail: string, cause?: unknown) {
    const s = PORT_SETTING[which];
    super(
      "INBOX_PORT_IN_USE",
      `the local inbox cannot listen on ${s.name} port ${port}: ${detail}; set ${s.env} (${s.flag}) to a free port`,
      { cause },
    );
    this.which = which;
    this.port = port;
  }
}

/** Turns a listen() failure into a PortInUseError when it is about the port; else rethrows. */
export function portError(which: keyof typeof PORT_SETTING, port: number, error: unknown): never {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "EADDRINUSE") throw new PortInUseError(which, port, "it is in use by another program", error);
  if (code === "EACCES") throw new PortInUseError(which, port, "this user may not listen on it", error);
  throw error;
}
