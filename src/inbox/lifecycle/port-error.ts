import { type PORT_SETTING, PortInUseError } from "../../errors.js";

/** Turns a listen() failure into a PortInUseError when it is about the port; else rethrows. */
export function portError(which: keyof typeof PORT_SETTING, port: number, error: unknown): never {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "EADDRINUSE") throw new PortInUseError(which, port, "it is in use by another program", error);
  if (code === "EACCES") throw new PortInUseError(which, port, "this user may not listen on it", error);
  throw error;
}
