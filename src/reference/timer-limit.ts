// The longest delay a Node timer holds: a signed 32-bit count of milliseconds. setTimeout with a
// larger delay fires at once (with a TimeoutOverflowWarning), so every timeout the harness takes
// from a user (--timeout, HF_HUB_DOWNLOAD_TIMEOUT) is refused above this, and every derived
// deadline is clamped to it.

export const MAX_TIMER_MS = 2 ** 31 - 1;

/** MAX_TIMER_MS in whole seconds, the largest timeout in seconds the harness accepts. */
export const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_MS / 1000);
