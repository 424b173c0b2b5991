import { z } from "zod";

/** Where cursors live (SPEC §2 `MAIL_EVENTS_STORE`, §9). */
export type StoreSpec =
  | { kind: "file" }
  | {
      kind: "redis";
      host: string;
      port: number;
      db: number;
      username?: string;
      password?: string;
      /** The URL without its password: safe to put in a message. */
      shown: string;
    };

/** Redis ships 16 databases; a server configured with more still takes any number below its limit. */
const MAX_DB = 1_000_000;

/** `file`, or `redis://[user:password@]host[:port][/db]`; the reason why not, otherwise. */
export function parseStoreUrl(text: string): StoreSpec | string {
  if (text === "file") return { kind: "file" };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text.startsWith("redis://")
      ? "is not a valid redis://host:port[/db] URL (a port is 1..65535)"
      : "must be `file` or a redis://host:port[/db] URL";
  }
  if (url.protocol !== "redis:") return "must be `file` or a redis://host:port[/db] URL";
  if (url.hostname === "") return "must name a host: redis://host:port[/db]";
  // `new URL` already refuses ports above 65535 or with letters; 0 is no port to connect to.
  const port = url.port === "" ? 6379 : Number(url.port);
  if (port < 1) return "must have a port 1..65535";
  const path = url.pathname.replace(/^\//, "");
  if (!/^\d{0,7}$/.test(path) || Number(path) >= MAX_DB) {
    return "must end with a database number (redis://host:port/0), or nothing";
  }
  if (url.search !== "" || url.hash !== "") return "takes no ?query or #fragment: redis://host:port[/db]";
  const db = path === "" ? 0 : Number(path);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return {
    kind: "redis",
    host,
    port,
    db,
    ...(url.username === "" ? {} : { username: decodeURIComponent(url.username) }),
    ...(url.password === "" ? {} : { password: decodeURIComponent(url.password) }),
    shown: `redis://${url.hostname}:${port}/${db}`,
  };
}

/** The config setting: a StoreSpec, with the reason as the issue message when it is not one. */
export const storeSetting = z.string().transform((text, ctx): StoreSpec => {
  const spec = parseStoreUrl(text);
  if (typeof spec !== "string") return spec;
  ctx.addIssue({ code: "custom", message: spec });
  return z.NEVER;
});
