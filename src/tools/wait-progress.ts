import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { ServerNotification, ServerRequest } from "@modelcontextprotocol/sdk/types.js";
import type { ToolContext } from "./context.js";

export type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/**
 * Sends notifications/progress every `progressEveryMs` while a wait runs, if the client
 * asked (a `progressToken`): hosts that cut silent calls short keep this one. Returns what
 * stops it.
 */
export function startProgress(
  extra: Extra,
  context: ToolContext,
  started: number,
  totalMs: number,
  identity: string,
): () => void {
  const token = extra._meta?.progressToken;
  if (token === undefined) return () => {};
  const timer = setInterval(() => {
    const waited = Math.round((context.now() - started) / 1000);
    extra
      .sendNotification({
        method: "notifications/progress",
        params: {
          progressToken: token,
          progress: waited,
          total: Math.round(totalMs / 1000),
          message: `waiting for email to ${identity}: ${waited}s of ${Math.round(totalMs / 1000)}s`,
        },
      })
      .catch(() => {});
  }, context.progressEveryMs);
  timer.unref();
  return () => clearInterval(timer);
}
