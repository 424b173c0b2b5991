import { z } from "zod";

/** An email's attachments as results list them; `get_email` adds the local inbox's `url`. */
export const attachmentsOutput = z
  .array(
    z.object({
      index: z
        .number()
        .int()
        .describe("The attachment's index for get_email and the inbox's /attachments/{index}."),
      filename: z.string().nullable(),
      contentType: z.string(),
      size: z.number().describe("Bytes, decoded."),
      url: z.string().optional().describe("Local inbox: where the attachment's bytes are served."),
    }),
  )
  .describe("Attachments (name, type, size); the content is not included — get_email gives its url.");
