export { ensureInbox } from "./lifecycle/ensure-inbox.js";
export { startInbox } from "./lifecycle/start-inbox.js";
export type { InboxOptions, RunningInbox } from "./types.js";
