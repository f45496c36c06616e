// The failure of a Hub fetch, checked for what every failure owes: a typed HubError, one line,
// and none of the given secrets in its message.

import { expect } from "vitest";
import { HubError } from "../../src/hub/errors.js";

export async function hubFailure(p: Promise<unknown>, secrets: readonly string[] = []): Promise<HubError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(HubError);
    expect((e as Error).message).not.toContain("\n");
    for (const s of secrets) expect((e as Error).message).not.toContain(s);
    return e as HubError;
  }
  throw new Error("expected the fetch to fail");
}
