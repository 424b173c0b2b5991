import { returnedIds } from "../cursors/claims.js";
import { WAIT_CONSUMER } from "../cursors/store.js";
import { MailEventsError } from "../errors.js";
import { describeEmail, digestEmail, UNTRUSTED_NOTE } from "../mail/digest.js";
import { isReceivedEmail } from "../mail/event.js";
import { compileFilter } from "../mail/match.js";
import type { Position } from "../sources/source.js";
import { callSignal, resolveIdentity, type ToolContext } from "./context.js";
import type { ReplyKey } from "./deliveries.js";
import { toolResult } from "./result.js";
import { Candidates } from "./wait-claim.js";
import { type Extra, startProgress } from "./wait-progress.js";
import type { WaitInput } from "./wait-schemas.js";

/** How long after a wait's deadline the answer to its last long-poll may still arrive. */
const ANSWER_GRACE_MS = 2_000;
/** An upstream clock this far behind ours still never makes a wait skip fresh mail. */
const CLOCK_MARGIN_MS = 5_000;

/** Where the email `id` stands, from this process's memory or, on the local inbox, its id. */
function positionAfter(id: string, context: ToolContext): Position {
  const known = context.waits.positionOf(id);
  if (known) return known;
  const seq = context.source.kind === "local" ? /^evt_[0-9a-z]+_(\d{1,15})$/.exec(id)?.[1] : undefined;
  if (seq !== undefined) return context.source.parseCursor(Number(seq));
  throw new MailEventsError(
    "INVALID_INPUT",
    `after ${JSON.stringify(id)} is not an email id this server has seen; pass an id returned by wait_for_email or pull_events, or use maxAgeSeconds`,
  );
}

/**
 * A query over recent mail, not a consumer of the stream: the newest email that matches,
 * arrived at most maxAgeSeconds before the call (or after `after`), and was not returned by
 * an earlier wait on this identity. Mail that does not match stays for other waits. With
 * nothing there yet, chains long-polls until the deadline and takes the first match that lands.
 * An email goes out only once this wait has claimed it in the store: of two waits on two
 * processes that found it at the same instant, the second goes on to the next one.
 */
export async function waitForEmail(
  input: WaitInput,
  extra: Extra,
  context: ToolContext,
  reply: ReplyKey = extra.requestId,
) {
  const { source, cursors, waits } = context;
  const started = context.now();
  const identity = resolveIdentity(input.identity, context);
  const matches = compileFilter(input);
  const after = input.after === undefined ? undefined : positionAfter(input.after, context);
  const totalMs = input.timeoutSeconds * 1000;
  const deadline = started + totalMs;
  const notBefore = after === undefined ? started - input.maxAgeSeconds * 1000 : Number.NEGATIVE_INFINITY;
  const signal = callSignal(extra.signal, context);
  // Transient upstream failures are retried until the wait's own deadline (at least 1 s),
  // and the last long-poll, which ends at that deadline, gets time for its answer to travel:
  // a busy upstream answering a few ms late is a wait that found nothing, not a timeout.
  const retryUntil = () => Math.max(deadline + ANSWER_GRACE_MS, context.now() + 1000);
  const stopProgress = startProgress(extra, context, started, totalMs, identity);
  try {
    await cursors.settled();
    await cursors.refresh();
    const record = cursors.get(source.key, identity, WAIT_CONSUMER);
    let position =
      after ??
      (await source.seek({
        identity,
        notBefore,
        after: waits.before(identity, notBefore, CLOCK_MARGIN_MS),
        signal,
        deadline: retryUntil(),
      }));
    // Returned ids only count in the log they came from; a record of another epoch is void.
    const live = record !== undefined && (position?.epoch === undefined || record.epoch === position.epoch);
    const taken = live ? returnedIds(record) : new Set<string>();
    const floor = live ? record.order : Number.NEGATIVE_INFINITY;
    const candidates = new Candidates();
    let won: Awaited<ReturnType<Candidates["claimNewest"]>>;
    let epoch = position?.epoch;
    for (;;) {
      candidates.wake(context.now());
      // Long-poll for new mail, but no longer than until another wait's claim may have lapsed.
      const lapse = (candidates.nextLapse() ?? Number.POSITIVE_INFINITY) - context.now();
      const pollMs = Math.min(deadline - context.now(), context.maxPollMs, lapse);
      const asked = context.now();
      const page = await source.pull({
        identity,
        since: position,
        types: [],
        limit: 200,
        timeoutMs: candidates.ready > 0 ? 0 : Math.max(0, pollMs),
        signal,
        deadline: retryUntil(),
      });
      for (const event of page.events) {
        const at = source.positionOf(event);
        waits.know(event, at);
        if (!isReceivedEmail(event) || event.ts < notBefore || taken.has(event.id)) continue;
        if (at.order <= floor || !matches(event)) continue;
        candidates.add(event, at.order);
      }
      position = page.position ?? position;
      epoch = page.position?.epoch ?? epoch;
      if (page.hasMore) continue;
      // Everything up to here was in the log when this request was made.
      waits.checkpoint(identity, position, asked);
      candidates.wake(context.now());
      const claimEpoch = epoch;
      won = await candidates.claimNewest((event, order) =>
        cursors.claim(source.key, identity, { id: event.id, order }, claimEpoch),
      );
      if (won || context.now() >= deadline) break;
    }
    const waitedMs = context.now() - started;
    if (won === undefined) {
      return toolResult(
        { found: false, cursor: position?.cursor ?? null, waitedMs, untrusted: UNTRUSTED_NOTE },
        `No matching email for ${identity} within ${input.timeoutSeconds}s. Call wait_for_email again to keep waiting; nothing is lost.`,
      );
    }
    const found = won.event;
    const at = source.positionOf(found);
    const email = { id: found.id, order: at.order };
    const claimEpoch = epoch;
    // Returned for good once this reply is on its way (a crash before repeats the email, never
    // loses it); a reply that fails or is cancelled lets go of the claim at once.
    context.deliveries.afterReply(
      reply,
      signal,
      () => cursors.remember(source.key, identity, email, claimEpoch),
      () => cursors.unclaim(source.key, identity, email, claimEpoch),
    );
    const digest = digestEmail(found);
    return toolResult(
      { found: true, email: digest, cursor: at.cursor, waitedMs, untrusted: UNTRUSTED_NOTE },
      describeEmail(digest, at.cursor),
    );
  } finally {
    stopProgress();
  }
}
