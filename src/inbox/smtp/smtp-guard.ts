import type { Socket } from "node:net";
import { DEFAULT_SMTP_LIMITS, type SmtpLimits } from "./smtp-limits.js";

/**
 * A session that connected this recently is not closed to make room: a burst of real
 * clients each reach MAIL FROM within ~110 ms (smtp-server greets after 100 ms).
 */
const EVICT_MIN_QUIET_MS = 250;
const LINGER_MS = 1_000;
const MAX_LINE = 4_096;
const JUNK = new Set(["NOOP", "RSET", "VRFY", "EXPN", "HELP", "ETRN"]);
/** Everything else (AUTH and STARTTLS are disabled here) is junk too. */
const KNOWN = new Set(["HELO", "EHLO", "MAIL", "RCPT", "DATA", "QUIT"]);

type State = "idle" | "mail" | "data" | "reply";

interface Session {
  socket: Socket;
  opened: number;
  lastByte: number;
  lastMail: number;
  dataStarted: number;
  junk: number;
  greetings: number;
  state: State;
  partial: string;
  closing: boolean;
}

/** Identifies a session from smtp-server's view of it (remote address and port). */
export interface PeerKey {
  remoteAddress: string;
  remotePort: number;
}

const keyOf = (address: string | undefined, port: number | undefined) =>
  `${(address ?? "").replace(/^::ffff:/, "")}|${port ?? 0}`;

/**
 * Admission and time limits for the SMTP sink's connections, so that hundreds of idle or
 * NOOP-ing connections from one address (all of loopback is one address) cannot keep a
 * normal mail out. It sits in front of smtp-server's accept handler and watches each
 * socket's command lines (not its message bytes) without changing them.
 */
export class SmtpGuard {
  readonly #limits: SmtpLimits;
  readonly #now: () => number;
  readonly #sessions = new Map<string, Session>();
  readonly #timer: NodeJS.Timeout;
  readonly #name: string;

  constructor(name: string, limits: Partial<SmtpLimits> = {}, now: () => number = Date.now) {
    this.#name = name;
    this.#limits = { ...DEFAULT_SMTP_LIMITS, ...limits };
    this.#now = now;
    this.#timer = setInterval(() => this.#sweep(), 500);
    this.#timer.unref();
  }

  get limits(): SmtpLimits {
    return this.#limits;
  }

  get open(): number {
    return this.#sessions.size;
  }

  get stressed(): boolean {
    return this.#sessions.size > this.#limits.maxConnections / 2;
  }

  /**
   * Decides on a new connection before smtp-server sees it. At the idle share of the cap the
   * session that has gone longest without mail is closed to make room; past the cap the new
   * one is told 421 at once. Returns whether to hand the socket on.
   */
  admit(socket: Socket): boolean {
    const { maxConnections, reserve } = this.#limits;
    if (this.#sessions.size >= maxConnections - reserve) this.#evictIdlest();
    if (this.#sessions.size >= maxConnections) {
      socket.on("error", () => {});
      this.#refuse(
        socket,
        `421 4.7.0 ${this.#name} has ${maxConnections} connections open; try again in a moment`,
      );
      return false;
    }
    const now = this.#now();
    const session: Session = {
      socket,
      opened: now,
      lastByte: now,
      lastMail: now,
      dataStarted: 0,
      junk: 0,
      greetings: 0,
      state: "idle",
      partial: "",
      closing: false,
    };
    const key = keyOf(socket.remoteAddress, socket.remotePort);
    this.#sessions.set(key, session);
    socket.once("close", () => {
      if (this.#sessions.get(key) === session) this.#sessions.delete(key);
    });
    return true;
  }

  /** Starts watching the command lines (call after smtp-server has taken the socket). */
  watch(socket: Socket): void {
    const session = this.#sessions.get(keyOf(socket.remoteAddress, socket.remotePort));
    if (session === undefined) return;
    socket.on("data", (chunk: Buffer) => this.#onBytes(session, chunk));
  }

  /** A MAIL FROM was accepted: a transaction is open. */
  mail(peer: PeerKey): void {
    const session = this.#get(peer);
    if (session) session.state = "mail";
  }

  /** DATA began: the message's bytes are not commands. */
  data(peer: PeerKey): void {
    const session = this.#get(peer);
    if (session === undefined) return;
    session.state = "data";
    session.dataStarted = this.#now();
    session.lastMail = session.dataStarted;
  }

  /** The message is in; the client now waits for our reply, however long storing takes. */
  received(peer: PeerKey): void {
    const session = this.#get(peer);
    if (session) session.state = "reply";
  }

  /** The reply went out; `delivered` when it was a 250 (which resets the junk count). */
  answered(peer: PeerKey, delivered: boolean): void {
    const session = this.#get(peer);
    if (session === undefined) return;
    session.state = "idle";
    session.lastByte = this.#now();
    if (delivered) {
      session.lastMail = session.lastByte;
      session.junk = 0;
    }
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #get(peer: PeerKey): Session | undefined {
    return this.#sessions.get(keyOf(peer.remoteAddress, peer.remotePort));
  }

  #onBytes(session: Session, chunk: Buffer): void {
    session.lastByte = this.#now();
    if (session.state === "data" || session.state === "reply" || session.closing) return;
    let text = session.partial + chunk.toString("latin1");
    for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n")) {
      this.#onCommand(session, text.slice(0, nl));
      text = text.slice(nl + 1);
      if (session.closing) return;
    }
    session.partial = text.slice(0, MAX_LINE);
  }

  #onCommand(session: Session, line: string): void {
    const verb = (/^\s*([A-Za-z]+)/.exec(line)?.[1] ?? "").toUpperCase();
    if (verb === "RSET" || verb === "HELO" || verb === "EHLO") session.state = "idle";
    const junk =
      JUNK.has(verb) || !KNOWN.has(verb) || ((verb === "HELO" || verb === "EHLO") && ++session.greetings > 2);
    if (!junk) return;
    session.junk++;
    const limit = this.stressed ? this.#limits.stressedJunkLimit : this.#limits.junkLimit;
    if (session.junk > limit) {
      this.#close(session, `421 4.7.0 ${this.#name}: too many commands without a mail (${limit}); closing`);
    }
  }

  #sweep(): void {
    const now = this.#now();
    const stressed = this.stressed;
    const l = this.#limits;
    for (const session of this.#sessions.values()) {
      if (session.closing) continue;
      const { state } = session;
      if (state === "reply") continue; // waiting for us, not for the client
      if (state === "data") {
        const limit = stressed ? l.stressedDataMs : l.dataMs;
        if (now - session.dataStarted > limit) {
          this.#close(
            session,
            `421 4.4.2 ${this.#name}: the message took over ${limit / 1000} s to send; closing`,
          );
        }
        continue;
      }
      const idle = stressed ? l.stressedIdleMs : l.idleMs;
      const noMail = stressed ? l.stressedNoMailMs : l.noMailMs;
      if (now - session.lastByte > idle) {
        this.#close(session, `421 4.4.2 ${this.#name}: idle for over ${idle / 1000} s; closing`);
      } else if (now - session.lastMail > noMail) {
        this.#close(session, `421 4.4.2 ${this.#name}: no mail sent in ${noMail / 1000} s; closing`);
      } else if (state === "idle" && now - session.opened > l.sessionMs) {
        this.#close(
          session,
          `421 4.4.2 ${this.#name}: session open for over ${l.sessionMs / 1000} s; closing`,
        );
      }
    }
  }

  /** Closes the session that has gone longest without mail, if one is quiet and between mails. */
  #evictIdlest(): void {
    const now = this.#now();
    let idlest: Session | undefined;
    for (const session of this.#sessions.values()) {
      if (session.closing || session.state !== "idle" || now - session.lastMail < EVICT_MIN_QUIET_MS)
        continue;
      if (idlest === undefined || session.lastMail < idlest.lastMail) idlest = session;
    }
    if (idlest)
      this.#close(
        idlest,
        `421 4.4.2 ${this.#name}: closing an idle connection to make room; reconnect to send`,
      );
  }

  #close(session: Session, reply: string): void {
    session.closing = true;
    // Out of the count at once, so the connection that made room gets it.
    for (const [key, s] of this.#sessions) if (s === session) this.#sessions.delete(key);
    this.#refuse(session.socket, reply);
  }

  #refuse(socket: Socket, reply: string): void {
    if (!socket.destroyed && socket.writable) socket.end(`${reply}\r\n`);
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  }
}
