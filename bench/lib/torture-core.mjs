import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeUpstream } from "./fake-upstream.mjs";
import { connectChild, SERVER_ENTRY, serverEnv } from "./mcp-child.mjs";
import { sleep } from "./stats.mjs";

/** Emails produced per wait identity: fewer than the 256 a wait remembers. */
const WAIT_EMAILS = 200;

const readCursorFile = (file) => {
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if (error.code === "ENOENT") return undefined;
    throw error;
  }
  return JSON.parse(text); // a torn or half-written file throws here
};

/** The stored cursor of one identity's unfiltered pull_events consumer (0 when none). */
const storedOrder = (file, identity) =>
  Object.values(file?.cursors ?? {}).find((c) => c.identity === identity && c.consumer === "pull")?.order ??
  0;

/**
 * Crash torture (SPEC §4): server processes on one state directory, each driven by a real SDK
 * client looping `pull_events` (committing) under a steady event stream, are killed with
 * SIGKILL at random instants and restarted, again and again.
 *
 * Checked, per identity, from what the clients actually received:
 * - nothing lost: the stored cursor never passes an event no client was given (the server
 *   stores a cursor only once its reply is out, so not even a call cut by its kill may lose
 *   its page);
 * - nothing repeated that was committed: an event the client received is given again only
 *   when, at the kill, it was above the cursor on disk — handed out but not yet durably
 *   committed (counted as `uncommittedRepeats`; any other repeat is a problem). The server
 *   makes each reply's cursor durable before it reads the next page, so that is the last page
 *   of a life, or of several lives in a row when each died before its first commit landed
 *   (a lock left by a killed writer holds commits back for up to 2 s). Two readers of one
 *   identity may both read a page before either commits, so there repeats are only counted;
 * - cursors never go back, and the cursor file always parses (read continuously while the
 *   processes write and die);
 * - for `wait_for_email` (its own identities, one waiting client each): no email is returned
 *   twice, except the last one a killed life returned (its reply went out, its memory of it
 *   may not have reached the disk), and every email produced is returned once the kills
 *   are over and a last life drains what is left.
 */
export async function runTorture({
  kills = 50,
  soloIdentities = 2,
  sharedReaders = 2,
  waiters = 1,
  eventEveryMs = 4,
  minLifeMs = 150,
  maxLifeMs = 1_500,
  timeLimitMs = 120_000,
  entry = SERVER_ENTRY,
  log = () => {},
} = {}) {
  const fake = await new FakeUpstream().start();
  const stateDir = await mkdtemp(join(tmpdir(), "mail-events-torture-"));
  const cursorFile = join(stateDir, "cursors.json");
  const stats = {
    kills: 0,
    spawns: 0,
    calls: 0,
    callsCutByKill: 0,
    eventsProduced: 0,
    eventsGiven: 0,
    repeats: 0,
    sharedRepeats: 0,
    uncommittedRepeats: 0,
    unexplainedLoss: 0,
    waitsFound: 0,
    waitRepeats: 0,
    waitRepeatsAfterKill: 0,
    waitLost: 0,
    cursorRegressions: 0,
    fileReads: 0,
    parseFailures: 0,
    problems: [],
  };
  const problem = (text) => {
    if (stats.problems.length < 20) stats.problems.push(text);
  };

  const solo = Array.from({ length: soloIdentities }, (_, i) => `solo${i}@torture.test`);
  const shared = "shared@torture.test";
  const identities = sharedReaders > 0 ? [...solo, shared] : solo;
  const waiting = Array.from({ length: waiters }, (_, i) => `wait${i}@torture.test`);
  for (const identity of [...identities, ...waiting]) fake.ensure(identity);

  // What clients received, per identity: every seq, and the highest seq given so far.
  const given = new Map(identities.map((id) => [id, new Set()]));
  const lastGiven = new Map(identities.map((id) => [id, 0]));
  const gaps = new Map(identities.map((id) => [id, 0]));

  let stopped = false;
  const deadline = Date.now() + timeLimitMs;
  // Enough kills, and lives long enough that both kinds of client were served at least once.
  const done = () =>
    stopped ||
    (stats.kills >= kills && stats.eventsGiven > 0 && (waiters === 0 || stats.waitsFound > 0)) ||
    Date.now() > deadline;

  // A steady stream: one event every few ms, round robin over the identities.
  let turn = 0;
  const streamed = [...identities, ...waiting];
  const producer = setInterval(() => {
    const identity = streamed[turn++ % streamed.length];
    // A wait remembers the last MAX_RETURNED (256) emails it returned per identity; past
    // that, by design, an older one never returned is not returned either. Stay under it.
    if (waiting.includes(identity) && (fake.logs.get(identity)?.length ?? 0) >= WAIT_EMAILS) return;
    fake.email(identity, { subject: `event ${turn}`, from: "stream@torture.test" });
    stats.eventsProduced++;
  }, eventEveryMs);

  // The cursor file, read continuously: it must always parse and never go back.
  const highest = new Map();
  const checkFile = () => {
    let file;
    try {
      file = readCursorFile(cursorFile);
    } catch (error) {
      stats.parseFailures++;
      problem(`cursor file did not parse: ${error.message}`);
      return;
    }
    stats.fileReads++;
    for (const entry of Object.values(file?.cursors ?? {})) {
      const key = `${entry.source}\n${entry.identity}\n${entry.consumer}`;
      const before = highest.get(key) ?? 0;
      if (entry.order < before) {
        stats.cursorRegressions++;
        problem(`cursor of ${entry.identity} went back from ${before} to ${entry.order}`);
      }
      highest.set(key, Math.max(before, entry.order));
    }
  };
  const reader = (async () => {
    while (!done()) {
      checkFile();
      await sleep(3);
    }
  })();

  /** Records one page that came back to the client. */
  const receive = (identity, events, uncommitted, isShared) => {
    const seen = given.get(identity);
    for (const event of events) {
      if (seen.has(event.seq)) {
        if (isShared) stats.sharedRepeats++;
        else if (uncommitted.delete(event.seq)) stats.uncommittedRepeats++;
        else {
          stats.repeats++;
          problem(`${identity}: event ${event.seq} was given twice`);
        }
        continue;
      }
      if (!isShared) {
        const gap = event.seq - lastGiven.get(identity) - 1;
        if (gap > 0) {
          gaps.set(identity, gaps.get(identity) + gap);
          stats.unexplainedLoss += gap;
          problem(`${identity}: events ${lastGiven.get(identity) + 1}..${event.seq - 1} were skipped`);
        }
      }
      seen.add(event.seq);
      lastGiven.set(identity, Math.max(lastGiven.get(identity), event.seq));
      stats.eventsGiven++;
    }
  };

  /**
   * Lives of one client until enough kills: spawn a server, run `live(child, isKilled)` until
   * the random SIGKILL, then `after(killed)`, and again. Every other life the kill is timed
   * from the spawn, so it also lands during start-up and the handshake; the others from the
   * handshake, so a machine slow to start servers still has kills land while they work.
   */
  const lives = async (name, live, after) => {
    for (let n = 0; !done(); n++) {
      const life = minLifeMs + Math.random() * (maxLifeMs - minLifeMs);
      let transport;
      let killed = false;
      let killer;
      const arm = () => {
        killer = setTimeout(() => {
          killed = true;
          if (transport?.pid) {
            try {
              process.kill(transport.pid, "SIGKILL");
            } catch {}
          }
        }, life);
      };
      const fromSpawn = n % 2 === 0;
      if (fromSpawn) arm();
      let child;
      try {
        child = await connectChild({
          args: [entry],
          env: serverEnv(fake.url, stateDir),
          name,
          onTransport: (t) => {
            transport = t;
          },
        });
        stats.spawns++;
        if (!fromSpawn) arm();
      } catch (error) {
        clearTimeout(killer);
        if (killed) stats.kills++;
        else problem(`spawn failed: ${error.message}`);
        await sleep(20);
        continue;
      }
      await live(child, () => killed);
      after(killed);
      clearTimeout(killer);
      await child.close();
      if (killed) stats.kills++;
    }
  };

  /** One reader: spawn, loop pull_events until killed, restart; until enough kills. */
  const worker = async (identity, isShared) => {
    // Events handed out that were above the disk cursor when the last life was killed.
    let uncommitted = new Set();
    await lives(
      "torture",
      async (child, isKilled) => {
        while (!isKilled()) {
          let result;
          try {
            result = await child.client.callTool(
              { name: "pull_events", arguments: { identity, limit: 1 + Math.floor(Math.random() * 40) } },
              undefined,
              { timeout: 10_000 },
            );
          } catch {
            if (isKilled()) stats.callsCutByKill++;
            else problem(`${identity}: a call failed without a kill`);
            break;
          }
          stats.calls++;
          if (result.isError) {
            problem(`${identity}: tool error ${result.content?.[0]?.text}`);
            await sleep(10);
            continue;
          }
          const events = result.structuredContent.events;
          receive(identity, events, uncommitted, isShared);
        }
      },
      (killed) => {
        if (killed && !isShared) {
          const onDisk = storedOrder(readCursorFile(cursorFile), identity);
          uncommitted = new Set([...given.get(identity)].filter((seq) => seq > onDisk));
        }
        checkFile();
        log(`kills ${stats.kills}/${kills}, events given ${stats.eventsGiven}`);
      },
    );
  };

  // Emails each waiter identity was handed: id -> times.
  const returned = new Map(waiting.map((id) => [id, new Map()]));

  /** Calls wait_for_email until killed (or, with `drain`, until nothing is left); records each email. */
  const waitLoop = async (child, identity, state, drain) => {
    for (;;) {
      let result;
      try {
        result = await child.client.callTool(
          {
            name: "wait_for_email",
            arguments: { identity, timeoutSeconds: drain ? 0.3 : 1, maxAgeSeconds: 3_600 },
          },
          undefined,
          { timeout: 10_000 },
        );
      } catch {
        return "cut";
      }
      stats.calls++;
      if (result.isError) {
        problem(`${identity}: wait tool error ${result.content?.[0]?.text}`);
        return "error";
      }
      const email = result.structuredContent.email;
      if (!result.structuredContent.found) {
        if (drain) return "drained";
        continue;
      }
      stats.waitsFound++;
      const seen = returned.get(identity);
      const times = seen.get(email.id) ?? 0;
      seen.set(email.id, times + 1);
      if (times > 0) {
        // Newest first: the killed life's last email comes again when it is the newest left.
        if (state.mayRepeat.delete(email.id)) stats.waitRepeatsAfterKill++;
        else {
          stats.waitRepeats++;
          problem(`${identity}: wait returned ${email.id} twice`);
        }
      }
      state.last = email.id;
    }
  };

  const waiterWorker = async (identity) => {
    // The last email of each killed life: its reply went out, its memory of it may not have
    // reached the disk, so each may come back once.
    const state = { last: undefined, mayRepeat: new Set() };
    await lives(
      "torture-wait",
      async (child, isKilled) => {
        state.last = undefined;
        const ended = await waitLoop(child, identity, state, false);
        if (ended === "cut" && !isKilled()) problem(`${identity}: a wait failed without a kill`);
      },
      (killed) => {
        if (killed && state.last !== undefined) state.mayRepeat.add(state.last);
      },
    );
    return state;
  };

  const workers = [
    ...solo.map((identity) => worker(identity, false)),
    ...Array.from({ length: sharedReaders }, () => worker(shared, true)),
    ...waiting.map((identity) => waiterWorker(identity)),
  ];
  const results = await Promise.all(workers);
  stopped = true;
  clearInterval(producer);
  // One last life per waiter drains what is left: then every email must have been returned.
  const waitStates = results.slice(-waiting.length);
  for (const [i, identity] of waiting.entries()) {
    const child = await connectChild({
      args: [entry],
      env: serverEnv(fake.url, stateDir),
      name: "torture-drain",
    });
    const ended = await waitLoop(child, identity, waitStates[i] ?? { mayRepeat: new Set() }, true);
    await child.close();
    if (ended !== "drained") problem(`${identity}: the final drain ended with ${ended}`);
    const seen = returned.get(identity);
    for (const event of fake.logs.get(identity) ?? []) {
      if (!seen.has(event.id)) {
        stats.waitLost++;
        problem(`${identity}: ${event.id} was never returned by a wait`);
      }
    }
  }
  await reader;
  checkFile();

  // Final audit: everything at or below each stored pull_events cursor was given to some client.
  const file = readCursorFile(cursorFile);
  const final = {};
  for (const identity of identities) {
    const cursor = storedOrder(file, identity);
    final[identity] = cursor;
    const seen = given.get(identity);
    let missing = 0;
    for (let seq = 1; seq <= cursor; seq++) if (!seen.has(seq)) missing++;
    if (identity === shared) stats.sharedMissing = missing;
    const counted = identity === shared ? 0 : gaps.get(identity);
    if (missing > counted) {
      stats.unexplainedLoss += missing - counted;
      problem(`${identity}: ${missing} events at or below the stored cursor ${cursor} were never given`);
    }
  }

  await fake.close();
  await rm(stateDir, { recursive: true, force: true });
  return { ...stats, finalCursors: final };
}
