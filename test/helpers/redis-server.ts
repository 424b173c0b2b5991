import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { createServer, Socket } from "node:net";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll } from "vitest";
import { tempDir } from "./harness.js";

/** The path of redis-server, or a failure telling how to install it (never a silent skip). */
export function redisServerBinary(): string {
  try {
    return execFileSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error(
      "redis-server is not installed: the Redis store tests need a real one (apt-get install -y redis-server)",
    );
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

/** Answers when a PING on `port` gets PONG. */
async function answers(port: number): Promise<boolean> {
  const socket = new Socket();
  try {
    socket.connect(port, "127.0.0.1");
    await once(socket, "connect");
    socket.write("PING\r\n");
    const [data] = (await once(socket, "data")) as [Buffer];
    return data.toString().startsWith("+PONG");
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

/**
 * A real redis-server on a free loopback port with its own temp dir and AOF `everysec`
 * persistence (what SPEC §9 promises survives a restart). `stop` and `start` restart it on
 * the same port and data.
 */
export class RedisServer {
  readonly dir: string;
  readonly port: number;
  readonly #appendfsync: "everysec" | "always";
  #child: ChildProcess | undefined;
  #log = "";
  readonly #clients: Redis[] = [];

  private constructor(dir: string, port: number, appendfsync: "everysec" | "always") {
    this.dir = dir;
    this.port = port;
    this.#appendfsync = appendfsync;
  }

  /** `appendfsync: "always"` when a test kills Redis and expects every acknowledged write back. */
  static async start(options: { appendfsync?: "everysec" | "always" } = {}): Promise<RedisServer> {
    redisServerBinary();
    const server = new RedisServer(
      await tempDir("redis-"),
      await freePort(),
      options.appendfsync ?? "everysec",
    );
    await server.start();
    return server;
  }

  /** A plain ioredis client on this server, for looking at what a test stored (closed with the server). */
  client(): Redis {
    const client = new Redis({ host: "127.0.0.1", port: this.port, maxRetriesPerRequest: 1 });
    client.on("error", () => {});
    this.#clients.push(client);
    return client;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  async start(): Promise<void> {
    const child = spawn(
      redisServerBinary(),
      [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--dir",
        this.dir,
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        this.#appendfsync,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const keep = (chunk: Buffer) => {
      this.#log = (this.#log + chunk.toString()).slice(-4000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    this.#child = child;
    const giveUp = Date.now() + 10_000;
    while (!(await answers(this.port))) {
      if (child.exitCode !== null || Date.now() > giveUp) {
        throw new Error(`redis-server did not start on port ${this.port}:\n${this.#log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Stops it with `signal` (SIGTERM: Redis writes its AOF and exits) and waits for the exit. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.#child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, "exit");
      child.kill(signal);
      await exited;
    }
  }

  /** Sends `signal` without waiting for an exit (SIGSTOP freezes it: connections stay open, nothing answers). */
  signal(signal: NodeJS.Signals): void {
    this.#child?.kill(signal);
  }

  async close(): Promise<void> {
    for (const client of this.#clients.splice(0)) client.disconnect();
    this.signal("SIGCONT");
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * One real redis-server for a whole test file, and `closers` run after each test (newest
 * first), for the servers and clients a test starts on it. `url()` is the server's URL.
 */
export function redisForFile(): { url(): string; closers: (() => Promise<void>)[] } {
  let redis: RedisServer | undefined;
  const closers: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis?.close();
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => {});
  });
  return {
    url() {
      if (redis === undefined) throw new Error("redisForFile: used outside a test");
      return redis.url;
    },
    closers,
  };
}
