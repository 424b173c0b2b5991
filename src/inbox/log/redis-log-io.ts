import { MailEventsError } from "../../errors.js";
import type { RedisConnection } from "../../store/redis-connection.js";
import type { Received } from "../smtp/spool.js";
import type { AppendInput } from "./inbox-log.js";
import { isLogRecord, type LogRecord, newEpoch } from "./log-format.js";
import { newMessageName } from "./message-store.js";
import { APPEND, type LogKeys, OPEN } from "./redis-log-scripts.js";
import type { StreamEntry } from "./redis-tailer.js";

const LOAD_BATCH = 1_000;

export const seqOfEntryId = (id: string): number => Number(id.slice(0, id.indexOf("-")));

/**
 * Stores one mail with the APPEND script: its raw message in a key of its own and its record
 * in the stream, both or neither. Resolves with the record once Redis holds it.
 */
export async function appendMail(
  commands: RedisConnection,
  keys: LogKeys,
  at: { epoch: string; now: number; floor: number },
  input: AppendInput,
  message: Received,
): Promise<LogRecord> {
  const file = newMessageName(at.now);
  const data = { ...input.data, raw: { file, size: message.size, sha256: message.sha256 } };
  // The script writes seq, id and ts in front of the rest.
  const rest = `,${JSON.stringify({ type: input.type, ids: input.ids, from: input.from, data }).slice(1)}`;
  const bytes = await message.bytes();
  const k = keys;
  const args = [k.meta, k.seq, k.ts, k.stream, k.message(file), at.epoch, at.now, at.floor, rest, bytes];
  const [seqText, tsText] = (await commands.run("the local inbox could not store the message", (client) =>
    client.eval(APPEND, 5, ...args).catch((error: Error) => {
      if (!error.message.startsWith("EPOCH")) throw error;
      throw new MailEventsError(
        "STORE_UNAVAILABLE",
        `the local inbox could not store the message: the store ${commands.spec.shown} no longer holds this inbox's log (${error.message.slice(6)}: Redis lost its data, or its keys were deleted); the inbox starts a new log by itself, so send again; give Redis persistence (appendonly yes)`,
        { cause: error },
      );
    }),
  )) as [string, string];
  const seq = Number(seqText);
  const { type, ids, from } = input;
  return { seq, id: `evt_${at.epoch}_${seq}`, ts: Number(tsText), type, ids, from, data };
}

/**
 * Opens the store's log (its epoch made if it has none) and feeds every entry up to the seq
 * counter to `apply`, in order. Every seq up to the counter is in the stream already or gone,
 * so a tailer that follows from `after` misses nothing and repeats nothing.
 */
export async function loadStream(
  commands: RedisConnection,
  keys: LogKeys,
  now: number,
  apply: (entries: StreamEntry[], epoch: string) => void,
): Promise<{ epoch: string; upTo: number; after: string }> {
  const [epoch, counter] = (await commands.run("the local inbox could not open its log", (client) =>
    client.eval(OPEN, 2, keys.meta, keys.seq, newEpoch(now), new Date(now).toISOString()),
  )) as [string, string];
  const upTo = Number(counter);
  let after = `${upTo}-0`;
  for (let start = "-"; ; ) {
    const entries = (await commands.run("the local inbox could not read its log", (client) =>
      client.xrange(keys.stream, start, String(upTo), "COUNT", LOAD_BATCH),
    )) as StreamEntry[];
    apply(entries, epoch);
    const last = entries[entries.length - 1]?.[0];
    // A clear after the last mail has an id past `<upTo>-0`: follow from after it.
    if (last !== undefined && seqOfEntryId(last) === upTo) after = last;
    if (entries.length < LOAD_BATCH || last === undefined) break;
    start = `(${last}`;
  }
  return { epoch, upTo, after };
}

/** The stored records (JSON lines) of `entries`, in one round trip; undefined where one is gone. */
export function readLines(
  commands: RedisConnection,
  keys: LogKeys,
  entries: readonly { seq: number }[],
): Promise<(Buffer | undefined)[]> {
  return commands.run("the local inbox could not read its log", async (client) => {
    const pipeline = client.pipeline();
    for (const { seq } of entries) pipeline.xrange(keys.stream, `${seq}-0`, `${seq}-0`);
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, reply]) => {
      if (error) throw error;
      const text = (reply as StreamEntry[])[0]?.[1][1];
      return text === undefined ? undefined : Buffer.from(text);
    });
  });
}

export function parseRecord(text: string): LogRecord | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isLogRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The bytes of stored raw message `file`, or undefined when it is gone. */
export async function readRaw(
  commands: RedisConnection,
  keys: LogKeys,
  file: string,
): Promise<Buffer | undefined> {
  const bytes = await commands.run("the local inbox could not read a stored message", (client) =>
    client.getBuffer(keys.message(file)),
  );
  return bytes ?? undefined;
}

/** The store answered that the log's epoch is not there (see APPEND, CLEAR). */
export const lostEpoch = (error: unknown): boolean =>
  ((error as Error)?.cause as Error | undefined)?.message?.startsWith("EPOCH") === true;
