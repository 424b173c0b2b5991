export interface TortureOptions {
  kills?: number;
  soloIdentities?: number;
  sharedReaders?: number;
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
  cursorRegressions: number;
  fileReads: number;
  parseFailures: number;
  problems: string[];
  finalCursors: Record<string, number>;
}

export function runTorture(options?: TortureOptions): Promise<TortureResult>;
