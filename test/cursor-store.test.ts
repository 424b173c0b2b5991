import { fork } from "node:child_process";
import { once } from "node:events";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FileCursorStore } from "../src/cursors/file-cursor-store.js";
import { lineLogger, silentLogger } from "../src/log.js";
import { tempDir } from "./helpers/harness.js";

const WRITER = join(import.meta.dirname, "helpers", "cursor-writer.mjs");
const dirs: string[] = [];
const newDir = async () => {
  const dir = await tempDir("cursors-");
  dirs.push(dir);
  return dir;
};
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const onDisk = async (dir: string) =>
  JSON.parse(await readFile(join(dir, "cursors.json"), "utf8")) as {
    cursors: Record<string, { identity: string; order: number }>;
  };
const orderOf = (file: Awaited<ReturnType<typeof onDisk>>, identity: string) =>
  Object.values(file.cursors).find((c) => c.identity === identity)?.order;

describe("cursor store", () => {
  it("never moves a cursor backward, unless forced", async () => {
    const store = await FileCursorStore.open(await newDir(), silentLogger);
    await store.commit("s", "a", "pull", { cursor: 10, order: 10 });
    await store.commit("s", "a", "pull", { cursor: 4, order: 4 });
    expect(store.get("s", "a", "pull")?.cursor).toBe(10);
    await store.commit("s", "a", "pull", { cursor: 4, order: 4 }, true);
    expect(store.get("s", "a", "pull")?.cursor).toBe(4);
  });

  it("coalesces a burst of commits and keeps the last of each", async () => {
    const dir = await newDir();
    const store = await FileCursorStore.open(dir, silentLogger);
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        store.commit("s", `id${i % 10}`, "pull", { cursor: i, order: i }),
      ),
    );
    const file = await onDisk(dir);
    for (let k = 0; k < 10; k++) expect(orderOf(file, `id${k}`)).toBe(190 + k);
  });

  it("keeps cursors of different sources and identities apart, with no identity used as a file name", async () => {
    const dir = await newDir();
    const store = await FileCursorStore.open(dir, silentLogger);
    await store.commit("inboxbase https://a", "../../x", "pull", { cursor: 1, order: 1 });
    await store.commit("inboxbase https://b", "../../x", "pull", { cursor: 2, order: 2 });
    const reopened = await FileCursorStore.open(dir, silentLogger);
    expect(reopened.get("inboxbase https://a", "../../x", "pull")?.cursor).toBe(1);
    expect(reopened.get("inboxbase https://b", "../../x", "pull")?.cursor).toBe(2);
    expect((await readdir(dir)).sort()).toEqual(["cursors.json"]);
  });

  it("sets a corrupt file aside with a clear message and keeps working", async () => {
    const dir = await newDir();
    await writeFile(join(dir, "cursors.json"), '{"version":1,"cursors":{"x":');
    const warnings: string[] = [];
    const store = await FileCursorStore.open(
      dir,
      lineLogger((l) => warnings.push(l)),
    );
    expect(warnings.join("")).toMatch(/could not be read.*moved it to .*cursors\.json\.corrupt-\d+/);
    expect((await readdir(dir)).some((f) => f.startsWith("cursors.json.corrupt-"))).toBe(true);
    await store.commit("s", "a", "pull", { cursor: 1, order: 1 });
    expect(orderOf(await onDisk(dir), "a")).toBe(1);
  });

  it("says which directory to fix when the state directory cannot be created", async () => {
    const dir = await newDir();
    await writeFile(join(dir, "file"), "");
    await expect(FileCursorStore.open(join(dir, "file", "sub"), silentLogger)).rejects.toThrow(
      /MAIL_EVENTS_STATE_DIR/,
    );
  });

  it("several processes on one state directory never roll back each other's cursors", async () => {
    const dir = await newDir();
    const children = ["p1", "p2", "p3"].map((name) =>
      fork(WRITER, [dir, "s", `${name},shared`, "150"], { stdio: "ignore" }),
    );
    const codes = await Promise.all(children.map((c) => once(c, "exit").then(([code]) => code)));
    expect(codes).toEqual([0, 0, 0]);
    const file = await onDisk(dir);
    for (const name of ["p1", "p2", "p3", "shared"]) expect(orderOf(file, name)).toBe(150);
  }, 60_000);

  it("survives kill -9 at random instants: the file always parses and never goes back", async () => {
    const dir = await newDir();
    let last = 0;
    // A killed writer may leave its lock behind; the next one takes it over at once.
    for (let round = 0; round < 12; round++) {
      const child = fork(WRITER, [dir, "s", "a,b", "0"], { stdio: ["ignore", "ignore", "ignore", "ipc"] });
      await once(child, "message");
      await new Promise((r) => setTimeout(r, Math.random() * 60));
      child.kill("SIGKILL");
      await once(child, "exit");
      const file = await onDisk(dir);
      const a = orderOf(file, "a") ?? 0;
      expect(a).toBeGreaterThanOrEqual(last);
      last = a;
    }
    expect(last).toBeGreaterThan(0);
    // The next writer sweeps the temp files killed writers left behind.
    const store = await FileCursorStore.open(dir, silentLogger);
    await store.commit("s", "a", "pull", { cursor: last + 1, order: last + 1 });
    await store.close();
    expect((await readdir(dir)).filter((name) => name.endsWith(".tmp") || name.endsWith(".lock"))).toEqual(
      [],
    );
  }, 60_000);
});
