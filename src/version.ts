/** The package version, on its own so the inbox can name it without importing the MCP server. */
export const VERSION = "0.1.0";
