/**
 * Waiting between attempts, shared by model calls (`call.ts`) and the admin reports (`usage/adminHttp.ts`): an
 * exponential backoff with jitter that gives way to the vendor's own `retry-after`, and a sleep a cancel ends.
 */

export interface BackoffPolicy {
  /** First backoff step; doubles per retry, with jitter. */
  baseDelayMs: number;
  /** Never wait longer than this between attempts; a longer `retry-after` fails the call instead. */
  maxDelayMs: number;
}

/**
 * The wait before retry number `retries` (0-based), or undefined when the vendor asks for a longer wait than
 * the policy allows (the caller gives up rather than hang).
 */
export function retryDelay(retryAfterMs: number | undefined, retries: number, policy: BackoffPolicy): number | undefined {
  if (retryAfterMs !== undefined) return retryAfterMs <= policy.maxDelayMs ? retryAfterMs : undefined;
  const exp = policy.baseDelayMs * 2 ** retries;
  return Math.min(policy.maxDelayMs, exp / 2 + Math.random() * (exp / 2));
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
