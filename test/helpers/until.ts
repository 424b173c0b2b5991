/**
 * Polls `check` until it holds; throws naming `what` after `ms`. Tests wait on a condition
 * a user could observe, never a fixed time (a busy CI machine makes any fixed time too short).
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  ms = 10_000,
  what = "the condition",
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
