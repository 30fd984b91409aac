/** What the store is loaded from when the dashboard opens: the host's rollups and newest runs, all as of one seq. */
import { Methods } from '../server/protocol/methods';
import { loadRequests, RollupRequest, rollupRequests, StoreBase } from './store';
import type { Transport } from './transport';

/** The newest runs the Activity list starts with (older ones come a page at a time). */
export const FIRST_RUNS_PAGE = 100;
/** After this many tries with the log moving under every one, the last is taken: live events then correct it. */
const MAX_TRIES = 5;

/**
 * Asks for the rollups, the first page of runs and, last, a rollup of nothing, which costs nothing and says
 * which seq the host has folded (it answers in order); for a history shorter than the hours asked for cover,
 * once more for its hours from where the days say it starts, with another such check. The answers hold together
 * only when nothing was appended meanwhile (every `lastSeq` the same); otherwise it asks again.
 */
export async function loadBase(transport: Transport, now: number): Promise<StoreBase & { partial: boolean }> {
  const requests = rollupRequests(now);
  const days = requests.findIndex((r) => r.res === 'd');
  const hours = requests.length - 1;
  const ask = (r: RollupRequest) => transport.request(Methods.rollups, r.params);
  const check = () => transport.request(Methods.rollups, { sinceTs: Number.MAX_SAFE_INTEGER });
  for (let attempt = 1; ; attempt++) {
    const [rollups, page, checked] = await Promise.all([Promise.all(requests.map(ask)), transport.request(Methods.runs, { limit: FIRST_RUNS_PAGE }), check()]);
    let last = checked;
    const firstDay = rollups[days].calls.reduce<number | null>((min, r) => (min === null || r.bucket < min ? r.bucket : min), null);
    const asked = loadRequests(now, firstDay);
    if (asked[hours].params.sinceTs !== requests[hours].params.sinceTs) [rollups[hours], last] = await Promise.all([ask(asked[hours]), check()]);
    const settled = rollups.every((r) => r.lastSeq === last.lastSeq);
    if (!settled && attempt < MAX_TRIES) continue;
    return {
      lastSeq: Math.min(...rollups.map((r) => r.lastSeq), last.lastSeq),
      rollups: asked.map((r, i) => ({ res: r.res, sums: r.sums, result: rollups[i] })),
      runs: page.runs,
      nextBefore: page.nextBefore,
      partial: Boolean(last.partial || page.partial || rollups.some((r) => r.partial)),
    };
  }
}
