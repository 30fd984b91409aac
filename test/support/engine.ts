import * as path from 'node:path';
import { Engine } from '../../server/engine/engine';
import { EventLog } from '../../server/events/log';
import type { AgentEvent } from '../../server/protocol';

export interface EngineWithLog {
  engine: Engine;
  log: EventLog;
  /** Every event the log took, in order. */
  events: AgentEvent[];
}

/** The engine in this process, over the event log in `root`'s .micro-agent/, with what it logs collected. */
export async function engineWithLog(root: string, env: Record<string, string>): Promise<EngineWithLog> {
  const log = EventLog.open(path.join(root, '.micro-agent', 'events.jsonl'));
  const events: AgentEvent[] = [];
  log.onEvent((e) => events.push(e));
  const engine = await Engine.create({ root, log, env });
  return { engine, log, events };
}
