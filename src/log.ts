/** The one logger: lines go to stderr (wired in main.ts), never stdout, which is JSON-RPC. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export function lineLogger(write: (line: string) => void, prefix = "mail-events-mcp"): Logger {
  const at = (level: string) => (message: string) => write(`${prefix}: ${level}${message}\n`);
  return { info: at(""), warn: at("warning: "), error: at("error: ") };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
