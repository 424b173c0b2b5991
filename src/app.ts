import type { Config } from "./config.js";
import { FileCursorStore } from "./cursors/file-cursor-store.js";
import type { CursorStore } from "./cursors/store.js";
import type { InboxOptions, RunningInbox } from "./inbox/index.js";
import type { Logger } from "./log.js";
import type { ServerDeps } from "./server.js";
import { createHostedSource } from "./sources/create-source.js";
import { HttpClient } from "./sources/http-client.js";

export interface App {
  deps: ServerDeps;
  /** The local inbox once it is up (undefined for hosted sources). */
  inbox: Promise<RunningInbox> | undefined;
  close(): Promise<void>;
}

/**
 * Builds everything `createServer` needs from a Config. With the local source the inbox
 * starts (or is found running) in the background, so the MCP handshake never waits for it.
 */
/** The local inbox's options as the config sets them (shared by `serve` and `inbox`). */
export const inboxOptions = (config: Config, log: Logger): InboxOptions => ({
  stateDir: config.stateDir,
  smtpPort: config.smtpPort,
  httpPort: config.httpPort,
  // MAIL_EVENTS_TOKEN guarded the inbox before MAIL_EVENTS_INBOX_TOKEN existed; it still does.
  token: config.inboxToken ?? (config.source === "local" ? config.token : undefined),
  host: config.listen,
  store: config.store,
  log,
});

/** The store MAIL_EVENTS_STORE names; Redis's client loads only when it is the one. */
async function openCursorStore(config: Config, log: Logger): Promise<CursorStore> {
  if (config.store.kind === "file") return FileCursorStore.open(config.stateDir, log);
  const { RedisCursorStore } = await import("./cursors/redis-cursor-store.js");
  return new RedisCursorStore(config.store, log);
}

export async function openApp(config: Config, log: Logger): Promise<App> {
  const http = new HttpClient({ token: config.token });
  const cursors = await openCursorStore(config, log);
  let inbox: Promise<RunningInbox> | undefined;
  let source: ServerDeps["source"];
  if (config.source === "local") {
    // Loaded only for the local source: hosted sources never pay for the inbox's code.
    const { LocalSource } = await import("./sources/local-source.js");
    const local = new LocalSource(inboxOptions(config, log));
    inbox = local.inbox;
    inbox.catch((error: Error) => log.error(error.message));
    source = local;
  } else {
    source = createHostedSource(config, http, log);
  }
  return {
    deps: { source, cursors, defaultIdentity: config.identity },
    inbox,
    async close() {
      await Promise.allSettled([source.close(), cursors.close(), http.close()]);
      await (await inbox?.catch(() => undefined))?.close();
    },
  };
}
