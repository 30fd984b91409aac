import type { Database } from 'sql.js';
import { useEffect, useState } from 'preact/hooks';
import type { AgentEvent } from '../../server/protocol/events';
import type { ToWebview } from '../../server/protocol/webview';
import { loadBase } from '../load';
import type { Store } from '../store';
import type { Transport } from '../transport';
import { Activity } from './Activity';
import { Analytics } from './Analytics';
import { Models } from './Models';
import { Providers } from './Providers';

type Context = Extract<ToWebview, { type: 'context' }>;

/** The minutes loaded at the windows' edges serve them for hours as they slide (`EDGE_SPAN_MS`): load again well before. */
const RELOAD_MS = 30 * 60_000;
/** While the host is still indexing its log, ask again this often. */
const PARTIAL_RETRY_MS = 2000;
/** `eval.*` events come a cell at a time, several at once under concurrency: the Models view asks again at most this often. */
const EVAL_REFRESH_MS = 250;
const MODELS_TAB = 2;
const PROVIDERS_TAB = 3;

/**
 * The dashboard: loads the store from the host's rollups and newest runs (the first time from `firstLoad`,
 * asked for while the store opened), then folds live events into it and re-runs the visible queries.
 * `version` counts changes; components take it as a prop so a change re-renders them. Live events are folded
 * as they come and rendered once per frame.
 */
export function App({ store, transport, firstLoad }: { store: Store; transport: Transport; firstLoad?: ReturnType<typeof loadBase> }) {
  const [version, setVersion] = useState(0);
  const [tab, setTab] = useState(0);
  const [status, setStatus] = useState<'loading' | 'partial' | 'ready' | { error: string }>('loading');
  const [context, setContext] = useState<Context>({ type: 'context', activeFile: null, trusted: true, budgetUsd: null });
  const [evalsVersion, setEvalsVersion] = useState(0);
  const [shownEval, setShownEval] = useState<string | null>(null);
  useEffect(() => {
    let frame = 0;
    let evalTimer: ReturnType<typeof setTimeout> | undefined;
    const evalsChanged = () => (evalTimer ??= setTimeout(() => ((evalTimer = undefined), setEvalsVersion((v) => v + 1)), EVAL_REFRESH_MS));
    const changed = () => (frame ||= requestAnimationFrame(() => ((frame = 0), setVersion((v) => v + 1))));
    let loading: Promise<void> | undefined;
    let ready = false;
    /** Live events that arrive while the store is being reloaded: folded after the base they may be newer than. */
    let held: AgentEvent[] | undefined;
    /** The first load, asked for before the store opened (main.tsx); later ones are asked for here. */
    let asked = firstLoad;
    const load = () =>
      (loading ??= (asked ?? loadBase(transport, Date.now()))
        .then((base) => {
          store.load(base);
          if (held?.length) store.ingest(held);
          held = undefined;
          setStatus(base.partial ? 'partial' : 'ready');
          changed();
          if (base.partial) setTimeout(() => void load(), PARTIAL_RETRY_MS);
          // Ask for the events after what the store holds, then live ones: the log is the source of truth.
          if (!ready) transport.post({ type: 'ready', afterSeq: store.lastSeq });
          ready = true;
        })
        .catch((err: Error) => {
          // The store keeps what it had; the live events held meanwhile still belong in it.
          if (held?.length) store.ingest(held);
          setStatus({ error: err.message });
        })
        .finally(() => {
          loading = undefined;
          asked = undefined;
          held = undefined;
        }));
    transport.onMessage((message) => {
      if (message.type === 'events' && Array.isArray(message.events)) {
        if (message.events.some((e) => e.type.startsWith('eval.'))) evalsChanged();
        if (loading && ready) return void (held ??= []).push(...message.events);
        if (store.ingest(message.events) > 0) changed();
        if (store.stale) {
          held = [];
          void load();
        }
      } else if (message.type === 'context') {
        setContext(message);
      } else if (message.type === 'showEval') {
        setShownEval(message.evalId);
        setTab(MODELS_TAB);
        evalsChanged();
      }
    });
    void load();
    const timer = setInterval(() => void load(), RELOAD_MS);
    return () => {
      clearInterval(timer);
      clearTimeout(evalTimer);
    };
  }, []);
  const db: Database = store.db;
  const loadRun = async (runId: string) => {
    // A run that started while the dashboard was open is held already: keep it while it is shown.
    if (store.holdsRun(runId)) return store.addRunEvents(runId, []);
    const page = await transport.request('microAgent/events', { runId });
    store.addRunEvents(runId, page.events);
    setVersion((v) => v + 1);
  };
  const olderRuns = () =>
    store.nextBefore &&
    transport.request('microAgent/runs', { limit: 100, before: store.nextBefore }).then((page) => {
      store.addRuns(page.runs, page.nextBefore);
      setVersion((v) => v + 1);
    });
  return (
    <main data-version={version} data-status={typeof status === 'string' ? status : 'error'}>
      {status === 'loading' && <p class="muted status-line">Loading…</p>}
      {status === 'partial' && <p class="muted status-line">The host is still indexing its log: the numbers grow to the full history.</p>}
      {typeof status === 'object' && <p class="error-text status-line">The dashboard could not load: {status.error}</p>}
      <vscode-tabs selected-index={tab} onvsc-tabs-select={(e: CustomEvent<{ selectedIndex: number }>) => setTab(e.detail.selectedIndex)}>
        <vscode-tab-header slot="header">Activity</vscode-tab-header>
        <vscode-tab-panel>
          {tab === 0 && (
            <Activity
              db={db}
              version={version}
              transport={transport}
              activeFile={context.activeFile}
              trusted={context.trusted}
              loadRun={loadRun}
              unpinRun={(runId) => store.unpin(runId)}
              olderRuns={store.nextBefore ? () => void olderRuns() : undefined}
            />
          )}
        </vscode-tab-panel>
        <vscode-tab-header slot="header">Analytics</vscode-tab-header>
        <vscode-tab-panel>{tab === 1 && <Analytics store={store} version={version} budgetUsd={context.budgetUsd} />}</vscode-tab-panel>
        <vscode-tab-header slot="header">Models</vscode-tab-header>
        <vscode-tab-panel>
          {tab === MODELS_TAB && (
            <Models
              db={db}
              version={version}
              transport={transport}
              evalsVersion={evalsVersion}
              shownEval={shownEval}
              loadRun={loadRun}
              unpinRun={(runId) => store.unpin(runId)}
            />
          )}
        </vscode-tab-panel>
        <vscode-tab-header slot="header">Providers</vscode-tab-header>
        <vscode-tab-panel>{tab === PROVIDERS_TAB && <Providers store={store} version={version} transport={transport} />}</vscode-tab-panel>
      </vscode-tabs>
    </main>
  );
}
