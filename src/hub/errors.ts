// Typed errors of the Hub fetcher. `transient` ones (server errors, timeouts, dropped
// connections) are retried a bounded number of times; the others fail at once.

import { MoePrefuseError } from "../reference/errors.js";

export type HubErrorCode =
  | "INVALID_REPO"
  | "INVALID_REVISION"
  | "INVALID_SETTING"
  | "OFFLINE_NOT_CACHED"
  | "NOT_FOUND"
  | "UNAUTHORIZED"
  | "SERVER_ERROR"
  | "TIMEOUT"
  | "NETWORK"
  | "BAD_RESPONSE"
  | "UNSAFE_PATH"
  | "SIZE_MISMATCH"
  | "CHECKSUM_MISMATCH"
  | "BODY_TOO_LARGE"
  | "TOO_MANY_REQUESTS"
  | "LOOP";

const TRANSIENT: ReadonlySet<HubErrorCode> = new Set(["SERVER_ERROR", "TIMEOUT", "NETWORK"]);

/** Worth retrying: the same request may succeed later. */
export function isTransient(code: HubErrorCode): boolean {
  return TRANSIENT.has(code);
}

export class HubError extends MoePrefuseError<HubErrorCode> {
  override readonly name = "HubError";
}
