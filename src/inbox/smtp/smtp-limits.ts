/**
 * How long and how much one SMTP session may hold the inbox, modelled on Postfix's smtpd:
 * when more than half the connections are taken the server is under stress and its limits
 * shrink (smtpd_timeout 300s → 10s, smtpd_junk_command_limit 100 → 1 there).
 */
export interface SmtpLimits {
  /** Sessions open at once; one more is told 421 at once (never queued). */
  maxConnections: number;
  /** Slots idle sessions may not hold: a new connection closes the longest-idle one instead. */
  reserve: number;
  /** No byte from the client for this long (client owes us a command) → 421. */
  idleMs: number;
  stressedIdleMs: number;
  /** No mail started or delivered for this long → 421 (trickled bytes and NOOPs don't count). */
  noMailMs: number;
  stressedNoMailMs: number;
  /** NOOP, RSET, VRFY, EXPN, HELP, ETRN, unknown verbs, a third HELO/EHLO: per delivered mail. */
  junkLimit: number;
  stressedJunkLimit: number;
  /** One message's DATA transfer. */
  dataMs: number;
  stressedDataMs: number;
  /** A whole session; it ends between two mails, never during one. */
  sessionMs: number;
}

export const DEFAULT_SMTP_LIMITS: SmtpLimits = {
  maxConnections: 200,
  reserve: 20,
  idleMs: 60_000,
  stressedIdleMs: 5_000,
  noMailMs: 300_000,
  stressedNoMailMs: 10_000,
  junkLimit: 100,
  stressedJunkLimit: 2,
  dataMs: 600_000,
  stressedDataMs: 60_000,
  sessionMs: 3_600_000,
};
