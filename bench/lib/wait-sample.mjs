import { callOk } from "./mcp-child.mjs";
import { wallNow } from "./remote-fake.mjs";
import { withTimeout } from "./stats.mjs";

/**
 * One event → wait_for_email result sample: starts a wait on `server`, lets it park its
 * long-poll at the fake, then appends an email carrying `code` and times, on one wall clock,
 * from the append in the fake's own process to the result in this one (ms).
 */
export async function waitSample(server, fake, identity, code) {
  const pending = callOk(server.client, "wait_for_email", { identity, timeoutSeconds: 30 });
  await withTimeout(fake.whenParked(identity), 10_000, "waiting for the long-poll to park");
  const { landedAt } = await fake.email(identity, {
    from: "noreply@shop.test",
    subject: `Your code is ${code}`,
  });
  const result = await withTimeout(pending, 10_000, "wait_for_email");
  const ms = wallNow() - landedAt;
  if (!result.found || !result.email.codes.includes(code)) throw new Error(`wrong email for code ${code}`);
  return ms;
}
