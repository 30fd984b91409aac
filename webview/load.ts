/** What the store is loaded from when the dashboard opens: the host's rollups and newest runs, all as of one seq. */
import { Methods } from '../server/protocol/methods';
import { loadRequests, RollupRequest, StoreBase } from './store';
import type { Transport } from './transport';

/** The newest runs the Activity list starts with (older ones come a page at a time). */
export const FIRST_RUNS_PAGE = 100;
/** After this many tries with the log moving under every one, the last is taken: live events then correct it. */
const MAX_TRIES = 5;

/**
 * Asks for the rollups of a long history (`loadRequests` with no first day), the first page of runs and, last,
 * a rollup of nothing, which costs nothing and says which seq the host has folded (it answers in order). A
 * history that turns out short (the days say where it starts) needs more hours and minutes: those are asked
 * for once more, with another such check. The answers hold together only when nothing was appended meanwhile
 * (every `lastSeq` the same); otherwise it asks again.
 */
export async function loadBase(transport: Transport, now: number): Promise<StoreBase & { partial: boolean }> {
  const key = (r: RollupRequest) => JSON.stringify(r);
  const ask = (r: RollupRequest) => transport.request(Methods.rollups, r.params);
  const check = () => transport.request(Methods.rollups, { sinceTs: Number.MAX_SAFE_INTEGER });
  for (let attempt = 1; ; attempt++) {
    const requests = loadRequests(now, null);
    const [rollups, page, checked] = await Promise.all([Promise.all(requests.map(ask)), transport.request(Methods.runs, { limit: FIRST_RUNS_PAGE }), check()]);
    let last = checked;
    const answers = new Map(requests.map((r, i) => [key(r), rollups[i]]));
    const days = rollups[requests.findIndex((r) => r.res === 'd')];
    const firstDay = days.calls.reduce<number | null>((min, r) => (min === null || r.bucket < min ? r.bucket : min), null);
    const asked = loadRequests(now, firstDay);
    const more = asked.filter((r) => !answers.has(key(r)));
    if (more.length > 0) {
      const [answered, checkedAgain] = await Promise.all([Promise.all(more.map(ask)), check()]);
      more.forEach((r, i) => answers.set(key(r), answered[i]));
      last = checkedAgain;
    }
    const results = asked.map((r) => answers.get(key(r))!);
    const settled = results.every((r) => r.lastSeq === last.lastSeq);
    if (!settled && attempt < MAX_TRIES) continue;
    return {
      lastSeq: Math.min(...results.map((r) => r.lastSeq), last.lastSeq),
      rollups: asked.map((r, i) => ({ res: r.res, result: results[i] })),
      runs: page.runs,
      nextBefore: page.nextBefore,
      partial: Boolean(last.partial || page.partial || results.some((r) => r.partial)),
    };
  }
}
