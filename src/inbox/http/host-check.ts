import { isIP } from "node:net";

/**
 * Which `Host` (and `Origin`) values the inbox serves. A web page can point a domain it owns
 * at 127.0.0.1 (DNS rebinding) and then read every mail from the user's browser as
 * same-origin; its requests still carry that domain in `Host`. So only names that cannot be
 * rebound are served: `localhost`, `127.0.0.1`, `[::1]` and the bound address (with any
 * port). Bound to a wildcard (`0.0.0.0`, `::`), any IP literal is accepted: a browser that
 * sends one went to that address itself, so there is nothing to rebind.
 */
export function hostAllowed(bindHost: string): (host: string | undefined) => boolean {
  const wildcard = bindHost === "0.0.0.0" || bindHost === "::" || bindHost === "";
  const names = new Set(["localhost", "127.0.0.1", "[::1]", bracket(bindHost.toLowerCase())]);
  return (host) => {
    if (host === undefined) return false;
    const name = hostName(host.trim().toLowerCase());
    if (name === undefined) return false;
    if (names.has(name)) return true;
    return wildcard && isIP(name.replace(/^\[|\]$/g, "")) !== 0;
  };
}

/** The `host` of an `Origin` header value, or undefined when it is not a URL (`null`). */
export function originHost(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    return url.protocol === "http:" || url.protocol === "https:" ? url.host : undefined;
  } catch {
    return undefined;
  }
}

const bracket = (host: string) => (isIP(host) === 6 ? `[${host}]` : host);

/** `name`, `name:port`, `[v6]` or `[v6]:port` → the name (v6 in brackets); else undefined. */
function hostName(host: string): string | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::\d{1,5})?$/.exec(host);
  return match?.[1];
}
