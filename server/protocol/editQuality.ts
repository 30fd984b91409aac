/**
 * The well-formed edit rate (Aider's measure): of a model's replies whose edits were judged, the share whose edits
 * applied, with how often each matching-ladder step placed them, so users see which models need the loose steps.
 * One fold of the events for every reader: `stats`, the export, OpenTelemetry and the dashboard. Pure.
 */
import { type AgentEvent, MATCH_STEPS, type MatchStep } from './events';

export interface EditQuality {
  /** Replies whose edits were applied or refused (a refusal after the tests ran, `tests_missing`, judged the tests). */
  replies: number;
  /** Of those, the replies whose edits applied. */
  wellFormed: number;
  /** Files written, by the ladder step that placed their edits (whole files count under none). */
  matchSteps: Record<MatchStep, number>;
}

export function emptyEditQuality(): EditQuality {
  return editQualityOf(() => 0);
}

/**
 * An `EditQuality` as flat numbers, in this order: replies, well-formed replies, then the files each ladder step
 * placed (`MATCH_STEPS` order). How the stats index keeps a run's and a day's tallies as columns and sums, and the
 * dashboard's store as SQL columns.
 */
export const EDIT_TALLIES = ['replies', 'wellFormed', ...MATCH_STEPS] as const;
export type EditTally = (typeof EDIT_TALLIES)[number];

export function editTally(quality: EditQuality, tally: EditTally): number {
  return tally === 'replies' ? quality.replies : tally === 'wellFormed' ? quality.wellFormed : quality.matchSteps[tally];
}

/** The `EditQuality` whose tallies `value` gives. */
export function editQualityOf(value: (tally: EditTally) => number): EditQuality {
  return {
    replies: value('replies'),
    wellFormed: value('wellFormed'),
    matchSteps: Object.fromEntries(MATCH_STEPS.map((step) => [step, value(step)])) as Record<MatchStep, number>,
  };
}

/** Adds `from`'s tallies to `into`. */
export function addEditQuality(into: EditQuality, from: EditQuality): void {
  into.replies += from.replies;
  into.wellFormed += from.wellFormed;
  for (const step of MATCH_STEPS) into.matchSteps[step] += from.matchSteps[step];
}

/** wellFormed / replies; null before any reply was judged. */
export function wellFormedRate(quality: EditQuality): number | null {
  return quality.replies > 0 ? quality.wellFormed / quality.replies : null;
}

/**
 * Folds `edit.applied` and `edit.rejected` into tallies. A reply that wrote several files is one `edit.applied`
 * per file, in one go, so the fold remembers the last iteration it counted for each run until the run finishes.
 */
export class EditQualityFold {
  private readonly counted = new Map<string, number>();

  /** Adds the event to `into` when it judges a reply's edits; true when it did. */
  add(event: AgentEvent, into: EditQuality): boolean {
    if (event.type === 'run.finished') this.counted.delete(event.runId);
    if (event.type !== 'edit.applied' && (event.type !== 'edit.rejected' || event.reason === 'tests_missing')) return false;
    if (event.type === 'edit.applied' && event.match) into.matchSteps[event.match]++;
    if (this.counted.get(event.runId) === event.iteration) return true;
    this.counted.set(event.runId, event.iteration);
    into.replies++;
    if (event.type === 'edit.applied') into.wellFormed++;
    return true;
  }
}
