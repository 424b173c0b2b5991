import { once } from "node:events";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * What every fake upstream stands on: a real node:http server on 127.0.0.1 at a free port,
 * which keeps track of its sockets so it can be shut at once, open connections and all.
 */
export class LoopbackServer {
  /** `http://127.0.0.1:<port>`, once listening. */
  url = "";
  readonly server: Server;
  readonly #sockets = new Set<Socket>();

  constructor(handler: RequestListener) {
    this.server = createServer(handler);
    this.server.on("connection", (socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
  }

  /** Listens on 127.0.0.1 port 0; resolves with the URL. */
  async listen(): Promise<string> {
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  /** Destroys every open socket and stops listening (without waiting for the server's "close"). */
  close(): void {
    for (const socket of this.#sockets) socket.destroy();
    this.server.close();
  }
}
