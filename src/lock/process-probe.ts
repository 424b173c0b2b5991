import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";

/** Who holds a lock: enough for another process on the same host to tell if it still runs. */
export interface ProcessId {
  pid: number;
  host: string;
  /**
   * The pid namespace (Linux), so two containers that share a host name and a volume do not
   * read each other's pids as their own; null where there is none to read.
   */
  pidns: string | null;
  /**
   * When the process started (Linux: boot id and `/proc/<pid>/stat` starttime), so a lock left
   * by a dead process is not mistaken for one held by a later process that got the same pid;
   * null where that cannot be read (then the pid alone decides).
   */
  start: string | null;
}

/** Tells whether the process named in a lock on this host is still the one that took it. */
export interface ProcessProbe {
  readonly self: ProcessId;
  /** False only when `holder` (on this host) has surely exited, or its pid now names another process. */
  isRunning(holder: ProcessId): boolean;
}

/** The two things only `main.ts` may read from `process`: its pid and `kill(pid, 0)`. */
export interface OwnProcess {
  readonly pid: number;
  kill(pid: number, signal: 0): unknown;
}

/**
 * True when `holder` ran on this host and in this pid namespace, so its pid is ours to ask
 * about (another host's, or a container's beside ours, is not).
 */
export const isLocal = (probe: ProcessProbe, holder: ProcessId): boolean =>
  holder.host === probe.self.host && holder.pidns === probe.self.pidns;

/** True only when `holder` ran on this host and has surely exited; one elsewhere cannot be asked. */
export const hasExited = (probe: ProcessProbe, holder: ProcessId): boolean =>
  isLocal(probe, holder) && !probe.isRunning(holder);

/** True when `value` (parsed from a file another process wrote) names a process in full. */
export function isProcessId(value: unknown): value is ProcessId {
  const v = value as Partial<ProcessId> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    Number.isSafeInteger(v.pid) &&
    typeof v.host === "string" &&
    (v.pidns === null || typeof v.pidns === "string") &&
    (v.start === null || typeof v.start === "string")
  );
}

const readOrUndefined = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
};

/**
 * The process's state letter and its start marker from `/proc/<pid>/stat`. The command name
 * (field 2) is in parentheses and may itself hold spaces or `)`, so fields are counted from
 * the last `)`: state is field 3, starttime field 22.
 */
function parseStat(text: string, bootId: string): { state: string; start: string } | undefined {
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  const starttime = fields[19];
  if (state === undefined || starttime === undefined || !/^\d+$/.test(starttime)) return undefined;
  return { state, start: `${bootId}:${starttime}` };
}

/**
 * The production probe. Where `/proc` is mounted (Linux) it reads the holder's stat: gone, a
 * zombie, or a different start time means the holder exited. Elsewhere, or when `/proc`
 * hides other users' processes, `own.kill(pid, 0)` answers (EPERM: it runs, as someone else).
 * Without `own` and without `/proc` a holder is assumed to run: never take a lock on a guess.
 */
export function processProbe(own?: OwnProcess, proc = "/proc"): ProcessProbe {
  const bootId = readOrUndefined(`${proc}/sys/kernel/random/boot_id`)?.trim() ?? "";
  let pid = own?.pid;
  if (pid === undefined) {
    try {
      pid = Number(readlinkSync(`${proc}/self`));
    } catch (error) {
      throw new Error("no way to learn this process's pid: pass processProbe(process) from main.ts", {
        cause: error,
      });
    }
  }
  const procMounted = readOrUndefined(`${proc}/${pid}/stat`) !== undefined;
  const statOf = (p: number) => {
    const text = readOrUndefined(`${proc}/${p}/stat`);
    return text === undefined ? undefined : parseStat(text, bootId);
  };
  const killSays = (p: number): boolean | undefined => {
    if (own === undefined) return undefined;
    try {
      own.kill(p, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === "EPERM";
    }
  };
  let pidns: string | null = null;
  try {
    pidns = readlinkSync(`${proc}/self/ns/pid`);
  } catch {}
  const self: ProcessId = { pid, host: hostname(), pidns, start: statOf(pid)?.start ?? null };
  return {
    self,
    isRunning(holder) {
      if (!Number.isSafeInteger(holder.pid) || holder.pid <= 0) return false;
      const stat = procMounted ? statOf(holder.pid) : undefined;
      if (stat !== undefined) {
        if (stat.state === "Z" || stat.state === "X") return false;
        return holder.start === null || holder.start === stat.start;
      }
      // Not in /proc: gone, unless /proc hides it (hidepid) and kill says otherwise.
      return killSays(holder.pid) ?? !procMounted;
    },
  };
}

let installed: ProcessProbe | undefined;

/** `main.ts` installs the probe built from `process`; until then `/proc` alone answers. */
export function setDefaultProcessProbe(probe: ProcessProbe): void {
  installed = probe;
}

export function defaultProcessProbe(): ProcessProbe {
  installed ??= processProbe();
  return installed;
}
