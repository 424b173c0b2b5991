import type { Received } from "../smtp/spool.js";
import { type AppendInput, StoreStageError } from "./inbox-log.js";
import type { LogRecord } from "./log-format.js";
import { type MessageStore, newMessageName } from "./message-store.js";

interface FileLog {
  readonly messages: MessageStore;
  append(input: AppendInput): Promise<LogRecord>;
}

/**
 * The file log's way to store a mail: the raw message first, to its own file (synced, its
 * directory entry too), then the bounded event that points at it, so a `250` covers both.
 * Whatever fails takes the message's file with it.
 */
export async function storeInFiles(log: FileLog, input: AppendInput, message: Received): Promise<LogRecord> {
  const file = newMessageName();
  try {
    if (message.path === undefined) await log.messages.write(file, await message.bytes());
    else await log.messages.adopt(message.path, file);
    await log.messages.syncEntries();
  } catch (error) {
    await log.messages.remove(file);
    throw new StoreStageError("writing the raw message", error);
  }
  const raw = { file, size: message.size, sha256: message.sha256 };
  try {
    return await log.append({ ...input, data: { ...input.data, raw } });
  } catch (error) {
    await log.messages.remove(file);
    throw new StoreStageError("writing the log", error);
  }
}
