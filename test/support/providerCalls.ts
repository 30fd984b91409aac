import * as assert from 'node:assert/strict';
import { CallPolicy } from '../../server/providers/call';
import { ProviderError } from '../../server/providers/types';

/** Quick retries and a short backoff, so the providers' failure paths run in milliseconds. */
export const FAST: CallPolicy = { maxRetries: 2, stallTimeoutMs: 5000, baseDelayMs: 10, maxDelayMs: 5000 };

/** The ProviderError a model call fails with; anything else (success included) fails the test. */
export async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ProviderError, `expected a ProviderError, got ${String(err)}`);
    return err;
  }
  throw new Error('expected the call to fail');
}
