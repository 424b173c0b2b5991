import { request } from "node:http";

/** What `/v1/health` says a mail-events-mcp inbox is; any other answer is some other program. */
export const HEALTH_SERVICE = "mail-events-mcp-inbox";

export interface InboxHealth {
  ok: true;
  service: typeof HEALTH_SERVICE;
  version: string;
  smtpPort: number;
  httpPort: number;
  pid: number;
  epoch: string;
}

/**
 * The result of knocking on a port: a running inbox, one that wants a token we do not hold
 * (with a token set, health without it says only that an inbox is there), something else,
 * or nothing at all.
 */
export type Probe =
  | { kind: "inbox"; health: InboxHealth }
  | { kind: "locked"; version: string }
  | { kind: "other"; detail: string }
  | { kind: "none" };

/**
 * Asks `http://host:port/v1/health` who is there, within `timeoutMs`, sending `token` if
 * given (an inbox with a token tells only token holders its ports). Never throws.
 */
export function probeHealth(host: string, port: number, timeoutMs: number, token?: string): Promise<Probe> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
    const req = request(
      { host, port, path: "/v1/health", method: "GET", timeout: timeoutMs, agent: false, headers },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size < 64 * 1024) chunks.push(chunk);
        });
        res.on("error", () => resolve({ kind: "other", detail: "it broke off its answer" }));
        res.on("end", () => {
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Partial<InboxHealth>;
            if (
              res.statusCode === 200 &&
              body.service === HEALTH_SERVICE &&
              typeof body.smtpPort === "number"
            ) {
              return resolve({ kind: "inbox", health: body as InboxHealth });
            }
            if (res.statusCode === 200 && body.service === HEALTH_SERVICE) {
              return resolve({ kind: "locked", version: String(body.version) });
            }
          } catch {
            // not JSON: some other program
          }
          resolve({
            kind: "other",
            detail: `it answered HTTP ${res.statusCode} but is not a mail-events-mcp inbox`,
          });
        });
      },
    );
    req.on("timeout", () => {
      req.destroy();
      resolve({ kind: "other", detail: `it did not answer /v1/health within ${timeoutMs} ms` });
    });
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNREFUSED") resolve({ kind: "none" });
      else resolve({ kind: "other", detail: `it did not speak HTTP (${error.code ?? error.message})` });
    });
    req.end();
  });
}
