import { join } from "node:path";
import type { Logger } from "../../log.js";
import type { StoreSpec } from "../../store/store-url.js";
import { sweepSpool } from "../smtp/spool.js";
import { EventLog } from "./event-log.js";
import type { InboxLog } from "./inbox-log.js";
import type { Retention } from "./log-index.js";

export interface OpenInboxLogOptions {
  /** The inbox's directory (`${stateDir}/inbox`): the file log, or only the spool with Redis. */
  dir: string;
  log: Logger;
  /** `redis://…` keeps the log in Redis Streams, shared by every inbox on that store. */
  store?: StoreSpec | undefined;
  retention?: Partial<Retention> | undefined;
  compactMinBytes?: number | undefined;
}

/** The log the store names: the state directory's file log, or the shared one in Redis. */
export async function openInboxLog(options: OpenInboxLogOptions): Promise<InboxLog> {
  const retention = options.retention === undefined ? {} : { retention: options.retention };
  if (options.store?.kind !== "redis") {
    return EventLog.open({
      dir: options.dir,
      log: options.log,
      ...retention,
      ...(options.compactMinBytes === undefined ? {} : { compactMinBytes: options.compactMinBytes }),
    });
  }
  // Large messages still arrive through this machine's spool; a crash's leftovers go.
  await sweepSpool(join(options.dir, "spool"));
  // Loaded only with a Redis store: a file-log inbox never loads the Redis client.
  const { RedisEventLog } = await import("./redis-event-log.js");
  return RedisEventLog.open({ spec: options.store, log: options.log, ...retention });
}
