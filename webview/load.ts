/** What the store is loaded from when the dashboard opens: the host's rollups and newest runs, all as of one seq. */
import { Methods } from '../server/protocol/methods';
import { hourRequest, rollupRequests, StoreBase } from './store';
import type { Transport } from './transport';

/** The newest runs the Activity list starts with (older ones come a page at a time). */
export const FIRST_RUNS_PAGE = 100;
/** After this many tries with the log moving under every one, the last is taken: live events then correct it. */
const MAX_TRIES = 5;

/**
 * Asks for the rollups and the first page of runs, then for the hours' sums from where the days say the
 * history starts, and with them for a rollup of nothing, which costs nothing and says which seq the host has
 * folded. The answers hold together only when nothing was appended meanwhile (every `lastSeq` the same);
 * otherwise it asks again.
 */
export async function loadBase(transport: Transport, now: number): Promise<StoreBase & { partial: boolean }> {
  const requests = rollupRequests(now);
  const days = requests.findIndex((r) => r.res === 'd');
  for (let attempt = 1; ; attempt++) {
    const [first, page] = await Promise.all([
      Promise.all(requests.map((r) => transport.request(Methods.rollups, r.params))),
      transport.request(Methods.runs, { limit: FIRST_RUNS_PAGE }),
    ]);
    const firstDay = first[days].calls.reduce<number | null>((min, r) => (min === null || r.bucket < min ? r.bucket : min), null);
    const hours = hourRequest(now, firstDay);
    const [hourly, check] = await Promise.all([
      transport.request(Methods.rollups, hours.params),
      transport.request(Methods.rollups, { sinceTs: Number.MAX_SAFE_INTEGER }),
    ]);
    const rollups = [...first, hourly];
    const lastSeq = check.lastSeq;
    const settled = rollups.every((r) => r.lastSeq === lastSeq);
    if (!settled && attempt < MAX_TRIES) continue;
    return {
      lastSeq: Math.min(...rollups.map((r) => r.lastSeq), lastSeq),
      rollups: [...requests, hours].map((r, i) => ({ res: r.res, sums: r.sums, result: rollups[i] })),
      runs: page.runs,
      nextBefore: page.nextBefore,
      partial: Boolean(check.partial || page.partial || rollups.some((r) => r.partial)),
    };
  }
}
