/** The top-level `--help` text (each verb's own help is in verbs.ts). */
export const usage = (
  version: string,
): string => `mail-events-mcp ${version} — wait for email and read mailbox events, as MCP tools

Usage:
  mail-events-mcp [serve]                      MCP server on stdio (default); a "ready:" line on stderr
  mail-events-mcp inbox                        run the local inbox alone (SMTP + HTTP on 127.0.0.1)
  mail-events-mcp wait [identity]              wait for an email; JSON on stdout; exit 1 on timeout
        [--from S] [--to S] [--subject S] [--contains S] [--after ID] [--timeout SECONDS] [--max-age SECONDS]
  mail-events-mcp pull [identity]              one page of events
        [--since CURSOR] [--types a,b] [--limit N] [--timeout MS] [--no-commit] [--group NAME]
  mail-events-mcp cursor [identity]            the stored cursor [--types a,b]
  mail-events-mcp set-cursor [identity] <cursor>   move the stored cursor [--types a,b]
  mail-events-mcp get <id> [identity]          one email in full
  mail-events-mcp <command> --help             one command's arguments and flags

Exit codes: 0 ok, 1 wait found nothing in time, 2 error, 130/143 stopped by Ctrl-C/SIGTERM.

Settings (flag or environment variable):
  --source     MAIL_EVENTS_SOURCE      local | inboxbase | mails | molted   (default local)
  --url        MAIL_EVENTS_URL         hosted API base URL (hosted sources)
  --token      MAIL_EVENTS_TOKEN       bearer token
  --identity   MAIL_EVENTS_IDENTITY    default identity
  --state-dir  MAIL_EVENTS_STATE_DIR   cursors and the local inbox's log
  --smtp-port  MAIL_EVENTS_SMTP_PORT   local inbox SMTP port (default 2525)
  --http-port  MAIL_EVENTS_HTTP_PORT   local inbox HTTP port (default 2580)
  --store      MAIL_EVENTS_STORE       file | redis://… cursor store (default file)
  --listen     MAIL_EVENTS_LISTEN      address the local inbox binds (default 127.0.0.1)
  --inbox-token MAIL_EVENTS_INBOX_TOKEN  token the inbox's HTTP and page require (needed off loopback)
`;
