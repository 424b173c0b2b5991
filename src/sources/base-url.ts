/** `url` without trailing slashes, so `${base}/v1/...` never doubles one. */
export const baseUrl = (url: string): string => url.replace(/\/+$/, "");
