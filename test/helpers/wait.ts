/**
 * Bounded polling for tests: wait until something HAS happened (a worker respawned, a connection
 * forgotten, a counter reached), never "wait a while and check that nothing happened" — that
 * passes vacuously on a slow machine. To show that something did NOT happen, cause a later
 * effect through the same path (a sentinel event, a round trip on the same connection) and check
 * that the forbidden one did not come before it.
 */

/**
 * Polls `check` (every `intervalMs`) until it returns true; throws after `timeoutMs`, naming `what`
 * (a function is called at that moment, for a message with the latest values).
 */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what: string | (() => string) = 'condition',
  intervalMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
