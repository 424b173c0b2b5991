import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MessageStore, newMessageName } from "../src/inbox/log/message-store.js";
import { tempDir } from "./helpers/harness.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
async function openStore(): Promise<{ store: MessageStore; root: string }> {
  const root = await tempDir("message-store-");
  dirs.push(root);
  const store = new MessageStore(join(root, "messages"));
  await store.open();
  return { store, root };
}

describe("raw message files, synced in shared rounds", () => {
  it("fifty small mails and two big ones written at once are each on disk byte for byte when their write returns", async () => {
    const { store } = await openStore();
    const mails = Array.from({ length: 50 }, (_, i) => ({
      name: newMessageName(),
      raw: Buffer.from(`Subject: mail ${i}\r\n\r\n${"x".repeat(i * 97)}\r\n`),
    }));
    // and two past the size written synchronously, through the thread pool
    for (const size of [200_000, 1_000_000])
      mails.push({ name: newMessageName(), raw: Buffer.alloc(size, 121) });
    await Promise.all(
      mails.map(async ({ name, raw }) => {
        await store.write(name, raw);
        expect((await store.read(name))?.equals(raw)).toBe(true);
      }),
    );
    expect((await readdir(store.dir)).sort()).toEqual(mails.map((m) => m.name).sort());
  });

  it("a write that fails fails alone and leaves no file, while the others in its round are stored", async () => {
    const { store } = await openStore();
    const taken = newMessageName();
    await writeFile(join(store.dir, taken), "already here");
    const others = Array.from({ length: 5 }, () => newMessageName());
    const results = await Promise.allSettled([
      store.write(taken, Buffer.from("second")),
      ...others.map((name) => store.write(name, Buffer.from(name))),
    ]);
    expect(results[0]?.status).toBe("rejected");
    expect(results.slice(1).every((r) => r.status === "fulfilled")).toBe(true);
    expect(await readFile(join(store.dir, taken), "utf8")).toBe("already here");
    for (const name of others) expect((await store.read(name))?.toString()).toBe(name);
  });

  it("a big mail moved in from the spool is in the store once its entries are synced", async () => {
    const { store, root } = await openStore();
    const spooled = join(root, "spooled");
    await writeFile(spooled, "big mail");
    const name = newMessageName();
    await Promise.all([
      store.adopt(spooled, name).then(() => store.syncEntries()),
      store.write(newMessageName(), Buffer.from("small")),
    ]);
    expect((await store.read(name))?.toString()).toBe("big mail");
    await store.syncEntries(); // nothing new: returns at once
  });
});
