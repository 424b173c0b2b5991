import { digestEmail, type EmailDigest } from "../../src/mail/digest.js";
import type { EmailFields } from "../../src/mail/event.js";

/**
 * An email as a hosted source delivers it (text and HTML in the event), read the way
 * `wait_for_email` reads it: the production path for hosted sources, not a test-only one.
 */
export function digestOf(email: EmailFields): EmailDigest {
  return digestEmail({
    id: "evt_test",
    type: "email.received",
    identity: "agent@local.test",
    ts: 0,
    receivedAt: "2026-01-01T00:00:00.000Z",
    email,
    data: { ...email },
  });
}
