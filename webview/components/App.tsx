import type { Database } from 'sql.js';
import { useEffect, useState } from 'preact/hooks';
import type { ToWebview } from '../../server/protocol/webview';
import type { Store } from '../store';
import type { Transport } from '../transport';
import { Activity } from './Activity';
import { Analytics } from './Analytics';

type Context = Extract<ToWebview, { type: 'context' }>;

/**
 * The dashboard: ingests events into the store as they arrive and re-runs the visible queries. `version`
 * counts ingested batches; components take it as a prop so a new batch re-renders them.
 */
export function App({ store, transport }: { store: Store; transport: Transport }) {
  const [version, setVersion] = useState(0);
  const [tab, setTab] = useState(0);
  const [context, setContext] = useState<Context>({ type: 'context', activeFile: null, trusted: true, budgetUsd: null });
  useEffect(() => {
    transport.onMessage((message) => {
      if (message.type === 'events' && Array.isArray(message.events)) {
        if (store.ingest(message.events) > 0) setVersion((v) => v + 1);
      } else if (message.type === 'context') {
        setContext(message);
      }
    });
    // Ask for everything after what we hold (nothing, after a reload): the log is the source of truth.
    transport.post({ type: 'ready', afterSeq: store.lastSeq });
  }, []);
  const db: Database = store.db;
  return (
    <main data-version={version}>
      <vscode-tabs selected-index={tab} onvsc-tabs-select={(e: CustomEvent<{ selectedIndex: number }>) => setTab(e.detail.selectedIndex)}>
        <vscode-tab-header slot="header">Activity</vscode-tab-header>
        <vscode-tab-panel>
          {tab === 0 && <Activity db={db} version={version} transport={transport} activeFile={context.activeFile} trusted={context.trusted} />}
        </vscode-tab-panel>
        <vscode-tab-header slot="header">Analytics</vscode-tab-header>
        <vscode-tab-panel>{tab === 1 && <Analytics db={db} version={version} budgetUsd={context.budgetUsd} />}</vscode-tab-panel>
      </vscode-tabs>
    </main>
  );
}
