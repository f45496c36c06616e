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
  | "RANGE_IGNORED"
  | "TOO_LARGE";

const TRANSIENT: ReadonlySet<HubErrorCode> = new Set(["SERVER_ERROR", "TIMEOUT", "NETWORK"]);

export class HubError extends MoePrefuseError<HubErrorCode> {
  override readonly name = "HubError";

  /** Worth retrying: the same request may succeed later. */
  get transient(): boolean {
    return TRANSIENT.has(this.code);
  }
}
