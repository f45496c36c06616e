// The longest delay a Node timer holds: a signed 32-bit count of milliseconds. setTimeout with
// anything larger fires at once (with a TimeoutOverflowWarning), so a huge timeout would kill
// every case immediately; callers refuse larger values instead.

export const MAX_TIMER_MS = 2 ** 31 - 1;
export const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_MS / 1000);
