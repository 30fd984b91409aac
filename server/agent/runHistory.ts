/**
 * A finished run as the log tells it, for resuming it: how it was started, how it ended and what each of its
 * attempts taught the model (the same one-line notes the loop gives the model as it goes), runs it resumed
 * included. Pure: the caller reads each run's events (the engine, from the run's place in the log).
 */
import type { AgentEvent, RunFinishedEvent, RunStartedEvent } from '../protocol/events';
import { failureSummary } from '../testResults';
import { Attempt, summarize } from './prompt';

export interface RunHistory {
  started: RunStartedEvent;
  finished: RunFinishedEvent | undefined;
  /** Every attempt of this run and of the runs it resumed, oldest first. */
  attempts: Attempt[];
}

/** Runs resumed from runs resumed from…: a bound, so a log edited into a cycle cannot loop forever. */
const MAX_CHAIN = 100;

/** The run's history through its `resumedFrom` chain; `eventsOf` gives one run's events (undefined: unknown). */
export function runHistory(runId: string, eventsOf: (runId: string) => readonly AgentEvent[] | undefined): RunHistory | undefined {
  let latest: RunHistory | undefined;
  const attempts: Attempt[][] = [];
  for (let id: string | undefined = runId, links = 0; id !== undefined && links < MAX_CHAIN; links++) {
    const events = eventsOf(id);
    const history = events && foldRun(events);
    if (!history) break;
    latest ??= history;
    attempts.unshift(history.attempts);
    id = history.started.resumedFrom;
  }
  return latest && { ...latest, attempts: attempts.flat() };
}

/** One run's events folded: undefined when they hold no `run.started`. */
export function foldRun(events: readonly AgentEvent[]): RunHistory | undefined {
  let started: RunStartedEvent | undefined;
  let finished: RunFinishedEvent | undefined;
  const attempts: Attempt[] = [];
  // Tests before the first iteration are the baseline (iteration 0, or the attempt a resumed run starts from).
  let iterating = false;
  for (const event of events) {
    if (event.type === 'run.started') started = event;
    else if (event.type === 'run.finished') finished = event;
    else if (event.type === 'run.iteration') iterating = true;
    else if (event.type === 'edit.rejected') attempts.push({ iteration: event.iteration, kind: 'rejected', reason: event.reason, message: event.message });
    else if (event.type === 'test.finished' && iterating && !event.passed && !event.cancelled) {
      // As the loop notes a failing attempt: the runner's failures when it could read them, else the output's tail.
      const summary = event.report && event.report.runner !== 'unknown' ? failureSummary(event.report) : summarize(event.outputTail);
      attempts.push({ iteration: event.iteration, kind: 'tested', exitCode: event.exitCode, timedOut: event.timedOut, summary });
    }
  }
  return started && { started, finished, attempts };
}
