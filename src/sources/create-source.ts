import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import type { HttpClient } from "./http-client.js";
import { InboxbaseSource } from "./inboxbase.js";
import { MailsSource } from "./mails.js";
import { MoltedSource } from "./molted.js";
import type { Source } from "./source.js";

/**
 * The hosted source the config names, sharing one HttpClient. The local inbox is wired in
 * app.ts (it must start first). `log` receives warnings such as skipped malformed frames.
 */
export function createHostedSource(config: Config, http: HttpClient, log?: Logger): Source {
  const url = config.url ?? "";
  const logged = log === undefined ? {} : { log };
  switch (config.source) {
    case "mails":
      return new MailsSource({ url, http, ...logged });
    case "molted":
      return new MoltedSource({ url, http, ...logged });
    default:
      // inboxbase, or a local inbox reached by URL: the same cursor-endpoint dialect.
      return new InboxbaseSource({ url, http, kind: config.source, ...logged });
  }
}
