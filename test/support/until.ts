/**
 * Waits for what a black-box test can see from outside (a file, a log line, a request at the vendor, a diagnostic
 * the client received): calls `probe` every `everyMs` until it returns something truthy and resolves with that, or
 * rejects with "timed out waiting for <what>" after `timeoutMs`.
 */
export async function until<T>(probe: () => T | undefined | null | false, what: string, timeoutMs = 20_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
