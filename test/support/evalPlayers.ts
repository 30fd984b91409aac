/**
 * Four models for the Models view's tests, played by the vendor stand-in by the request's `model` field over the
 * eval repository's two tasks (`evalRepo.ts`): always right; right at the second attempt; right on the strings task
 * only (cheap, half the pass rate: a second point on the value frontier); never right.
 */
import { fixReply } from './fixtures';
import { CALC, STRINGS } from './evalRepo';
import { playModels, promptText, RecordedRequest, Reply } from './vendorServer';

export const RIGHT = 'gpt-4.1-mini';
export const SECOND = 'gpt-4.1';
export const HALF = 'gpt-4.1-nano';
export const WRONG = 'gpt-4o-mini';

const taskOf = (request: RecordedRequest) => (promptText(request).includes('exports.capitalize') ? STRINGS : CALC);
const text = (reply: string): Reply => ({ kind: 'text', text: reply });

/** The vendor's `respond` for the four models: each task's attempts counted apart. */
export function fourModels(): (request: RecordedRequest) => Reply {
  return playModels(
    {
      [RIGHT]: (request) => text(fixReply(taskOf(request).fixed)),
      [SECOND]: (request, attempt) => text(fixReply(attempt >= 2 ? taskOf(request).fixed : taskOf(request).wrong(attempt))),
      [HALF]: (request, attempt) => text(fixReply(taskOf(request) === STRINGS ? STRINGS.fixed : CALC.wrong(attempt))),
      [WRONG]: (request, attempt) => text(fixReply(taskOf(request).wrong(attempt))),
    },
    (request) => (taskOf(request) === STRINGS ? 'strings' : 'calc'),
  );
}
