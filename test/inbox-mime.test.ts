import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, openApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import type { RunningInbox } from "../src/inbox/index.js";
import { createServer } from "../src/server.js";
import { runPython, sendWithNodemailer, sendWithPython } from "./helpers/smtp-client.js";
import { memoryLogger, tempDir } from "./helpers/smtp-inbox.js";

const MIME = join(import.meta.dirname, "fixtures", "mime");
const fixture = (name: string) => readFile(join(MIME, name));

let stateDir: string;
let app: App;
let inbox: RunningInbox;
let client: Client;
let cleanup: () => Promise<void>;

/** The server built as main.ts builds it (openApp + createServer), with a real MCP Client. */
beforeAll(async () => {
  stateDir = await tempDir();
  const { config } = loadConfig(
    { MAIL_EVENTS_STATE_DIR: stateDir, MAIL_EVENTS_SMTP_PORT: "0", MAIL_EVENTS_HTTP_PORT: "0" },
    [],
  );
  app = await openApp(config, memoryLogger());
  inbox = await (app.inbox as Promise<RunningInbox>);
  const built = createServer(app.deps);
  cleanup = built.cleanup;
  client = new Client({ name: "inbox-mime-test", version: "0" });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await built.connect(b);
  await client.connect(a);
});

afterAll(async () => {
  await client.close();
  await cleanup();
  await app.close();
  await rm(stateDir, { recursive: true, force: true });
});

async function tool<T = Record<string, unknown>>(name: string, args: Record<string, unknown>): Promise<T> {
  const result = (await client.callTool({ name, arguments: args }, undefined, {
    timeout: 20_000,
  })) as CallToolResult;
  if (result.isError) throw new Error(JSON.stringify(result.content));
  return result.structuredContent as T;
}

interface Found {
  found: boolean;
  email: { subject: string; from: string; text: string; codes: string[]; links: string[]; to: string[] };
}

const waitFor = (identity: string) => tool<Found>("wait_for_email", { identity, timeoutSeconds: 10 });

async function eventsOf(identity: string): Promise<{ seq: number; data: Record<string, unknown> }[]> {
  const res = await fetch(`${inbox.httpUrl}/v1/identities/${encodeURIComponent(identity)}/events?since=0`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { events: { seq: number; data: Record<string, unknown> }[] }).events;
}

describe("the local inbox receives real MIME and the tools return it", () => {
  it("returns the code and the confirm link from a multipart/alternative email (nodemailer)", async () => {
    const raw = await fixture("multipart-alternative.eml");
    const reply = await sendWithNodemailer(inbox.smtpPort, {
      from: "no-reply@acme.example",
      to: ["alice@example.com"],
      raw,
    });
    expect(reply).toMatch(/^250 /);
    const result = await waitFor("Alice@Example.com");
    expect(result.found).toBe(true);
    expect(result.email.subject).toBe("Confirm your Acme account");
    expect(result.email.codes[0]).toBe("418204");
    expect(result.email.links).toContain("https://acme.example/confirm?t=abc123");
    const [event] = await eventsOf("alice@example.com");
    expect(event?.data.text).toContain("418204");
    // The event is bounded: codes and links extracted at ingest, the HTML kept out of the log.
    expect(event?.data.codes).toEqual(["418204"]);
    expect(event?.data.html).toBeUndefined();
    expect(event?.data.messageId).toBe("<alt-1@acme.example>");
  });

  it("returns the code from an HTML-only email (python3 smtplib)", async () => {
    await sendWithPython(inbox.smtpPort, {
      from: "login@bank.example",
      to: ["bob@example.com"],
      raw: await fixture("html-only.eml"),
    });
    const result = await waitFor("bob@example.com");
    expect(result.email.codes[0]).toBe("730915");
    expect(result.email.text).toContain("730915");
    expect(result.email.text).not.toContain("<strong>");
  });

  it("lists attachments by name, size and type without storing their content", async () => {
    await sendWithNodemailer(inbox.smtpPort, {
      from: "billing@shop.example",
      to: ["carol@example.com"],
      raw: await fixture("attachments.eml"),
    });
    const page = await tool<{ events: { email?: { hasAttachments?: boolean } }[] }>("pull_events", {
      identity: "carol@example.com",
      since: 0,
    });
    expect(page.events).toHaveLength(1);
    const [event] = await eventsOf("carol@example.com");
    expect(event?.data.hasAttachments).toBe(true);
    expect(event?.data.attachments).toEqual([
      expect.objectContaining({ filename: "invoice-2291.pdf", contentType: "application/pdf", size: 78 }),
      expect.objectContaining({ filename: "lines.csv", contentType: "text/csv" }),
    ]);
    expect(JSON.stringify(event)).not.toContain("JVBERi0");
    const log = await readFile(join(stateDir, "inbox", "events.jsonl"), "utf8");
    expect(log).not.toContain("JVBERi0");
  });

  it("decodes an ISO-8859-1 body and encoded-word sender and subject", async () => {
    await sendWithPython(inbox.smtpPort, {
      from: "code@banque.example",
      to: ["andre@example.com"],
      raw: await fixture("latin1.eml"),
    });
    const result = await waitFor("andre@example.com");
    expect(result.email.subject).toBe("Votre code de vérification");
    expect(result.email.from).toContain("Société Générale");
    expect(result.email.text).toContain("Bonjour André");
    expect(result.email.text).toContain("l'équipe");
    expect(result.email.codes[0]).toBe("662781");
  });

  it("decodes windows-1252 quoted-printable and a UTF-8 base64 encoded-word subject", async () => {
    await sendWithNodemailer(inbox.smtpPort, {
      from: "shop@shop.example",
      to: ["dana@example.com"],
      raw: await fixture("windows-1252.eml"),
    });
    const result = await waitFor("dana@example.com");
    expect(result.email.subject).toBe("🎉 Welcome – your code is 302918");
    expect(result.email.text).toContain("10 € – “quoted”");
    expect(result.email.codes[0]).toBe("302918");
  });

  it("delivers one python3 smtplib message to all 8 recipients and to `*`, with one seq", async () => {
    const script = `
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "Équipe Support <support@help.example>"
m["To"] = ", ".join(f"r{i}@team.example" for i in range(1, 4))
m["Cc"] = ", ".join(f"r{i}@team.example" for i in range(4, 7))
m["Subject"] = "Réunion: votre code est 915530"
m.set_content("Votre code est 915530. À bientôt.\\n", charset="iso-8859-1")
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10) as s:
    s.send_message(m, to_addrs=[f"R{i}@Team.Example" for i in range(1, 9)])
print("sent")
`;
    expect((await runPython(script, inbox.smtpPort)).trim()).toBe("sent");
    const seqs = new Set<number>();
    for (let i = 1; i <= 8; i++) {
      const events = await eventsOf(`r${i}@team.example`);
      expect(events).toHaveLength(1);
      seqs.add(events[0]?.seq as number);
      expect(events[0]?.data.subject).toBe("Réunion: votre code est 915530");
    }
    expect(seqs.size).toBe(1);
    const all = await eventsOf("*");
    expect(all.at(-1)?.seq).toBe([...seqs][0]);
    // Bcc'd recipients (r7, r8) get it too: the envelope decides, not the To header.
    const found = await waitFor("r8@team.example");
    expect(found.email.codes[0]).toBe("915530");
    expect(found.email.text).toContain("À bientôt");
  });
});
