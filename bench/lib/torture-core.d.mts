export interface TortureOptions {
  kills?: number;
  soloIdentities?: number;
  sharedReaders?: number;
  /** Identities with one client looping wait_for_email each. */
  waiters?: number;
  eventEveryMs?: number;
  minLifeMs?: number;
  maxLifeMs?: number;
  timeLimitMs?: number;
  entry?: string;
  log?: (line: string) => void;
}

export interface TortureResult {
  kills: number;
  spawns: number;
  calls: number;
  callsCutByKill: number;
  eventsProduced: number;
  eventsGiven: number;
  repeats: number;
  sharedRepeats: number;
  uncommittedRepeats: number;
  sharedMissing?: number;
  unexplainedLoss: number;
  waitsFound: number;
  /** Emails a wait returned twice that were not the last of a killed life: must be 0. */
  waitRepeats: number;
  waitRepeatsAfterKill: number;
  /** Emails no wait ever returned, after the final drain: must be 0. */
  waitLost: number;
  cursorRegressions: number;
  fileReads: number;
  parseFailures: number;
  problems: string[];
  finalCursors: Record<string, number>;
}

export function runTorture(options?: TortureOptions): Promise<TortureResult>;
