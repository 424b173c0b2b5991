/**
 * The one event shape every source produces. Vendors disagree on field names (`ts` vs
 * `tsIso` vs `createdAt`, `type` at top level or inside `data`); sources map them here and
 * pass unknown fields through in `data`.
 */
export interface EmailFields {
  from?: string;
  to?: string[];
  subject?: string;
  text?: string;
  html?: string;
  messageId?: string;
  threadId?: string;
  labels?: string[];
  hasAttachments?: boolean;
}

export interface NormalizedEvent {
  /** Vendor event id (`evt_…`); sources synthesize one when the vendor sends none. */
  id: string;
  /** Per-identity sequence number (inboxbase and the local inbox only). */
  seq?: number;
  type: string;
  identity: string;
  /** Epoch milliseconds. */
  ts: number;
  /** ISO 8601 form of `ts`. */
  receivedAt: string;
  /** Email fields, when the event is about one email. */
  email?: EmailFields;
  /** The vendor's payload, unknown fields included. */
  data: Record<string, unknown>;
}

type Loose = Record<string, unknown>;

/** Builds an event from what a dialect read: `receivedAt` from `ts`, `email` only when present. */
export function normalizedEvent(
  fields: Omit<NormalizedEvent, "receivedAt" | "email"> & { email: EmailFields | undefined },
): NormalizedEvent {
  const { email, ...rest } = fields;
  return {
    ...rest,
    receivedAt: new Date(fields.ts).toISOString(),
    ...(email === undefined ? {} : { email }),
  };
}

export const isRecord = (value: unknown): value is Loose =>
  typeof value === "object" && value !== null && !Array.isArray(value);

export const str = (value: unknown): string | undefined =>
  typeof value === "string" ? value : typeof value === "number" ? String(value) : undefined;

/** Accepts epoch ms, epoch seconds or an ISO string; returns epoch ms or undefined. */
export function toEpochMs(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value < 1e11 ? value * 1000 : value;
  if (typeof value === "string" && value !== "") {
    if (/^\d+$/.test(value)) return toEpochMs(Number(value));
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

function addressList(value: unknown): string[] | undefined {
  if (typeof value === "string") return value === "" ? [] : value.split(/\s*,\s*/);
  if (Array.isArray(value)) return value.map((v) => str(v) ?? (isRecord(v) ? (str(v.address) ?? "") : ""));
  if (isRecord(value)) return addressList(value.address ?? value.text);
  return undefined;
}

function address(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (isRecord(value)) return str(value.text) ?? str(value.address);
  if (Array.isArray(value)) return address(value[0]);
  return undefined;
}

/** Reads the optional email fields from a vendor payload (snake_case and camelCase alike). */
export function emailFields(data: Loose): EmailFields | undefined {
  const fields: EmailFields = {};
  const from = address(data.from);
  if (from !== undefined) fields.from = from;
  const to = addressList(data.to);
  if (to !== undefined) fields.to = to;
  const subject = str(data.subject);
  if (subject !== undefined) fields.subject = subject;
  const text = str(data.text) ?? str(data.snippet) ?? str(data.preview);
  if (text !== undefined) fields.text = text;
  const html = str(data.html);
  if (html !== undefined) fields.html = html;
  const messageId = str(data.messageId) ?? str(data.message_id) ?? str(data.email_id);
  if (messageId !== undefined) fields.messageId = messageId;
  const threadId = str(data.threadId) ?? str(data.thread_id) ?? str(data.convId);
  if (threadId !== undefined) fields.threadId = threadId;
  if (Array.isArray(data.labels))
    fields.labels = data.labels.filter((l): l is string => typeof l === "string");
  const hasAttachments = data.hasAttachments ?? data.has_attachments;
  if (typeof hasAttachments === "boolean") fields.hasAttachments = hasAttachments;
  return Object.keys(fields).length === 0 ? undefined : fields;
}

/** Event types that mean "an email arrived" in each dialect. */
export const RECEIVED_TYPES: ReadonlySet<string> = new Set([
  "email.received",
  "email.replied",
  "message.received",
  "inbound.classified",
  "inbound.routed",
]);

export const isReceivedEmail = (event: NormalizedEvent): boolean =>
  RECEIVED_TYPES.has(event.type) && event.email !== undefined;

/** Event types from a CSV (`"a, b"`) or a list: trimmed, empties and repeats dropped. */
export function parseTypes(types: string | readonly string[] | null | undefined): string[] {
  const list = typeof types === "string" ? types.split(",") : (types ?? []);
  return [...new Set(list.map((t) => t.trim()).filter((t) => t !== ""))];
}

/** A test for event types: `delivery.*` matches `delivery.sent`; no types matches everything. */
export function typeMatcher(types: string | readonly string[] | null | undefined): (type: string) => boolean {
  const wanted = parseTypes(types);
  if (wanted.length === 0) return () => true;
  const exact = new Set(wanted.filter((t) => !t.endsWith("*")));
  const prefixes = wanted.filter((t) => t.endsWith("*")).map((t) => t.slice(0, -1));
  return (type) => exact.has(type) || prefixes.some((p) => type.startsWith(p));
}
