/**
 * How a run's summary follows from its events: the host's run list and the extension's runs view both fold
 * them with these, so a client can keep a list current from the live events without asking for it again.
 */
import type { AgentEvent, RunSummary } from './events';

type RunStarted = Extract<AgentEvent, { type: 'run.started' }>;

export function startedRun(event: RunStarted): RunSummary {
  return {
    runId: event.runId,
    file: event.file,
    provider: event.provider,
    model: event.model,
    startedAt: event.ts,
    status: 'running',
    reason: null,
    iterations: 0,
    costUsd: 0,
    finishedAt: null,
    pid: event.pid,
    ...(event.resumedFrom ? { resumedFrom: event.resumedFrom } : {}),
    ...(event.evalId ? { evalId: event.evalId } : {}),
  };
}

/** Applies one of the run's later events (an iteration, a call's cost, the finish) to its summary, in place. */
export function applyRunEvent(run: RunSummary, event: AgentEvent): void {
  switch (event.type) {
    case 'run.iteration':
      run.iterations = event.iteration;
      break;
    case 'llm.response':
      run.costUsd += event.costUsd ?? 0;
      break;
    case 'run.finished':
      Object.assign(run, { status: event.outcome, reason: event.reason, iterations: event.iterations, costUsd: event.costUsd, finishedAt: event.ts });
      break;
  }
}
