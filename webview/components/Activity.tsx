import type { Database } from 'sql.js';
import { useEffect, useState } from 'preact/hooks';
import type { AgentEvent, TestFinishedEvent } from '../../server/protocol/events';
import type { TestTotals } from '../../server/protocol/testReport';
import { recentRuns, RunRow, runEvents } from '../queries';
import type { Transport } from '../transport';
import { clock, count, ms, usd } from '../format';

const OUTCOME_ICON: Record<string, string> = { passed: 'pass', failed: 'error', cancelled: 'circle-slash', error: 'warning' };

/** Live activity: start a run, and every run with its iterations as a timeline that opens to its attempts. */
export function Activity({
  db,
  transport,
  activeFile,
  trusted,
  loadRun,
  unpinRun,
  olderRuns,
}: {
  db: Database;
  version: number;
  transport: Transport;
  activeFile: string | null;
  trusted: boolean;
  /** Fetches a run's events from the host for its details (the store holds only recent ones). */
  loadRun: (runId: string) => Promise<void>;
  unpinRun: (runId: string) => void;
  /** Loads the next older page of runs; absent when every run is listed. */
  olderRuns?: () => void;
}) {
  const [shown, setShown] = useState(50);
  const runs = recentRuns(db, shown);
  return (
    <section class="activity">
      <div class="toolbar">
        <vscode-button
          disabled={!activeFile || !trusted}
          onClick={() => transport.post({ type: 'startRun' })}
          title={trusted ? 'Fix the active file with micro-agent' : 'Not available: the workspace is not trusted'}
        >
          <i class="codicon codicon-beaker" slot="start" /> Fix {activeFile ? activeFile.split('/').pop() : 'active file'}
        </vscode-button>
        {!trusted && <span class="muted">Limited mode: the workspace is not trusted.</span>}
      </div>
      {runs.length === 0 && <p class="muted empty">No runs yet. Open a file whose tests fail and press Fix.</p>}
      <ol class="runs">
        {runs.map((run) => (
          <Run key={run.runId} run={run} db={db} transport={transport} loadRun={loadRun} unpinRun={unpinRun} />
        ))}
      </ol>
      {(runs.length === shown || olderRuns) && (
        <vscode-button
          secondary
          class="older-runs"
          onClick={() => {
            setShown(shown + 50);
            if (runs.length === shown) olderRuns?.();
          }}
        >
          Older runs
        </vscode-button>
      )}
    </section>
  );
}

function Run({
  run,
  db,
  transport,
  loadRun,
  unpinRun,
}: {
  run: RunRow;
  db: Database;
  transport: Transport;
  loadRun: (runId: string) => Promise<void>;
  unpinRun: (runId: string) => void;
}) {
  const [open, setOpen] = useState(false);
  const [detail, setDetail] = useState<'loading' | 'ready' | { error: string }>('loading');
  useEffect(() => {
    if (!open) return;
    setDetail('loading');
    loadRun(run.runId).then(
      () => setDetail('ready'),
      (err: Error) => setDetail({ error: err.message }),
    );
    return () => unpinRun(run.runId);
  }, [open]);
  const running = run.outcome === null;
  return (
    <li class={`run ${run.outcome ?? 'running'}`} data-run={run.runId}>
      <div class="run-head">
        <button class="twisty" aria-expanded={open} onClick={() => setOpen(!open)} title={open ? 'Hide attempts' : 'Show attempts'}>
          <i class={`codicon codicon-${open ? 'chevron-down' : 'chevron-right'}`} />
        </button>
        <i class={`codicon ${running ? 'codicon-sync codicon-modifier-spin' : `codicon-${OUTCOME_ICON[run.outcome!]}`} status`} />
        <a class="file" href="#" onClick={(e) => (e.preventDefault(), transport.post({ type: 'openFile', file: run.file }))} title={`Open ${run.file}`}>
          {run.file}
        </a>
        <span class="muted">
          {run.outcome ?? 'running'} · {run.iterations}
          {run.maxRuns === null ? '' : `/${run.maxRuns}`} · {usd(run.costUsd)}
        </span>
        {running && (
          <button class="icon" onClick={() => transport.post({ type: 'cancelRun', runId: run.runId })} title="Cancel this run">
            <i class="codicon codicon-debug-stop" />
          </button>
        )}
        {!running && transport.editor && <RunActions run={run} transport={transport} />}
      </div>
      <div class="run-meta muted">
        {run.provider} {run.model} · {clock(run.startedTs)}
        {run.error && <span class="error-text"> · {run.error}</span>}
      </div>
      {open && typeof detail === 'object' && <p class="error-text">Could not load this run's events: {detail.error}</p>}
      {open && detail !== 'loading' && (
        <Timeline
          events={runEvents(db, run.runId)}
          restore={transport.editor && !running ? (iteration) => transport.post({ type: 'restoreAttempt', runId: run.runId, iteration }) : undefined}
        />
      )}
    </li>
  );
}

/** Show Changes and Undo for a finished run (the extension asks before overwriting later edits), Resume for one that did not pass. */
function RunActions({ run, transport }: { run: RunRow; transport: Transport }) {
  const runId = run.runId;
  return (
    <span class="run-actions">
      {run.outcome !== 'passed' && (
        <button class="icon" onClick={() => transport.post({ type: 'resumeRun', runId })} title="Resume this run from its last attempt">
          <i class="codicon codicon-debug-continue" />
        </button>
      )}
      <button class="icon" onClick={() => transport.post({ type: 'showChanges', runId })} title="Show the changes of this run">
        <i class="codicon codicon-diff" />
      </button>
      <button class="icon" onClick={() => transport.post({ type: 'undoRun', runId })} title="Undo this run">
        <i class="codicon codicon-discard" />
      </button>
    </span>
  );
}

/**
 * A run's events grouped by iteration: the model call, what happened to its reply, the test that followed. An
 * iteration that wrote files is a checkpoint: `restore` puts the files back as it left them.
 */
export function Timeline({ events, restore }: { events: AgentEvent[]; restore?: (iteration: number) => void }) {
  const byIteration = new Map<number, AgentEvent[]>();
  for (const e of events) {
    const iteration = 'iteration' in e && typeof e.iteration === 'number' ? e.iteration : -1;
    if (iteration < 0) continue;
    if (!byIteration.has(iteration)) byIteration.set(iteration, []);
    byIteration.get(iteration)!.push(e);
  }
  return (
    <ol class="timeline">
      {[...byIteration].map(([iteration, list]) => (
        <li key={iteration} class="iteration">
          <div class="iteration-title">
            {iteration === 0 ? 'Tests before any change' : `Iteration ${iteration}`}
            {restore && iteration > 0 && list.some((e) => e.type === 'edit.applied') && (
              <button class="link restore" onClick={() => restore(iteration)} title={`Put the files back as iteration ${iteration} left them`}>
                <i class="codicon codicon-history" /> Restore this attempt
              </button>
            )}
          </div>
          {list.map((e) => (
            <Step key={e.seq} event={e} />
          ))}
        </li>
      ))}
    </ol>
  );
}

function Step({ event }: { event: AgentEvent }) {
  switch (event.type) {
    case 'llm.request':
      return <Details summary={<>Prompt · {count(event.promptChars)} chars</>} body={event.promptPreview} />;
    case 'llm.response':
      return (
        <div class={`step llm ${event.ok ? '' : 'failed'}`}>
          <i class="codicon codicon-hubot" /> {event.provider} {event.model} · {ms(event.latencyMs)} (TTFT {ms(event.ttftMs)})
          {` · ${count(event.inputTokens)} in${cachedNote(event.cachedInputTokens)} / ${count(event.outputTokens)} out · ${usd(event.costUsd)}`}
          {event.retries > 0 && ` · ${event.retries} retries`}
          {event.error && (
            <span class="error-text">
              {' '}
              · {event.error.kind}: {event.error.message}
            </span>
          )}
          {event.ok && <Details summary="Response" body={event.responsePreview} />}
        </div>
      );
    case 'edit.rejected':
      return (
        <div class="step rejected">
          <i class="codicon codicon-circle-slash" /> Reply not used: {event.message}
        </div>
      );
    case 'edit.applied':
      return (
        <Details
          summary={
            <>
              Wrote {event.file} (+{event.linesAdded} −{event.linesRemoved})
            </>
          }
          body={event.diff}
          diff
        />
      );
    case 'test.finished': {
      const failing = event.report?.failures ?? [];
      return (
        <>
          <Details
            summary={
              <>
                <i class={`codicon codicon-${event.passed ? 'pass' : 'error'}`} /> Tests {testVerdict(event)} · {ms(event.durationMs)}
                {event.report?.totals && <> · {totalsText(event.report.totals)}</>}
              </>
            }
            body={event.outputTail}
            className={event.passed ? 'pass' : 'fail'}
          />
          {!event.passed && failing.length > 0 && (
            <ul class="failing-tests">
              {failing.map((failure) => (
                <li key={failure.name} title={failure.message}>
                  <i class="codicon codicon-close" /> {failure.name}
                  {failure.test && (
                    <span class="muted">
                      {' '}
                      · {failure.test.file}:{failure.test.line}
                    </span>
                  )}
                </li>
              ))}
            </ul>
          )}
        </>
      );
    }
    default:
      return null;
  }
}

function Details({ summary, body, diff, className }: { summary: preact.ComponentChildren; body: string; diff?: boolean; className?: string }) {
  return (
    <details class={`step ${className ?? ''}`}>
      <summary>{summary}</summary>
      <pre class={diff ? 'diff' : ''}>
        {diff
          ? body.split('\n').map((line, i) => (
              <span key={i} class={line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : line.startsWith('@@') ? 'hunk' : ''}>
                {line}
                {'\n'}
              </span>
            ))
          : body}
      </pre>
    </details>
  );
}

function testVerdict(event: TestFinishedEvent): string {
  if (event.passed) return 'passed';
  if (event.timedOut) return 'timed out';
  return event.cancelled ? 'cancelled' : `failed (exit ${event.exitCode ?? event.signal})`;
}

function totalsText(totals: TestTotals): string {
  const parts = [`${totals.failed} failed`, `${totals.passed} passed`];
  if (totals.skipped) parts.push(`${totals.skipped} skipped`);
  if (totals.todo) parts.push(`${totals.todo} todo`);
  return parts.join(', ');
}

/** ` (600 cached)`: the part of the input the vendor's prompt cache served; nothing when none (or not reported). */
function cachedNote(cached: number | null): string {
  return cached ? ` (${count(cached)} cached)` : '';
}
