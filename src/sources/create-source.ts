import type { Config } from "../config.js";
import { MailEventsError } from "../errors.js";
import type { HttpClient } from "./http-client.js";
import { InboxbaseSource } from "./inboxbase.js";
import type { Source } from "./source.js";

/** The hosted source the config names. The local inbox is wired in main.ts (it must start first). */
export function createHostedSource(config: Config, http: HttpClient): Source {
  const url = config.url ?? "";
  switch (config.source) {
    case "inboxbase":
      return new InboxbaseSource({ url, http });
    case "local":
      return new InboxbaseSource({ url, http, kind: "local" });
    default:
      throw new MailEventsError("CONFIG_INVALID", `MAIL_EVENTS_SOURCE ${config.source} is not supported yet`);
  }
}
