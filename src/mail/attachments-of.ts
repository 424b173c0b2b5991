import type { NormalizedEvent } from "./event.js";
import { oneLine } from "./text.js";

/** Attachments a digest lists: enough to know what came, bounded for an agent's context. */
const MAX_LISTED = 20;

export interface AttachmentSummary {
  /** The attachment's index in `get_email` (and the inbox's `/attachments/{index}`). */
  index: number;
  filename: string | null;
  contentType: string;
  size: number;
}

/**
 * The attachments an event's data lists (the local inbox: name, type, size per part, inline
 * ones included so indexes match `get_email`; hosted vendors: whatever list they send).
 */
export function attachmentsOf(event: NormalizedEvent): AttachmentSummary[] {
  const list = event.data.attachments;
  if (!Array.isArray(list)) return [];
  return list.slice(0, MAX_LISTED).map((raw, index) => {
    const a = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
    const type = a.contentType ?? a.content_type ?? a.mimeType;
    return {
      index,
      filename: typeof a.filename === "string" ? oneLine(a.filename, 255) : null,
      contentType: typeof type === "string" ? oneLine(type, 200) : "application/octet-stream",
      size: typeof a.size === "number" && Number.isFinite(a.size) ? a.size : 0,
    };
  });
}
