/**
 * `npm run bench`: measured numbers for the README, never assertions. Prints a table and writes
 * bench-results.json. Everything runs on loopback against local stand-ins for the vendors.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO } from '../support/fixtures';
import { dailySpend } from './dailySpend';
import { edits } from './edits';
import { evalBench } from './eval';
import { eventLog, loopOverhead, lspRoundTrip } from './engine';
import { activation, bundleSizes, hostSpawnToReady, vsixSize } from './extension';
import { api } from './api';
import { providerUsage } from './providerUsage';
import { review } from './review';
import { dashboardScale } from './dashboardScale';
import { providersTab } from './providersTab';
import { scale } from './scale';
import { Result, table } from './stats';
import { testResults } from './testResults';
import { webview } from './webview';

async function main(): Promise<void> {
  const results: Result[] = [];
  const steps: Array<[string, () => Result[] | Promise<Result[]>]> = [
    ['loop overhead', loopOverhead],
    ['LSP round trip', lspRoundTrip],
    ['event log', eventLog],
    ['daily cap', dailySpend],
    ['test results', testResults],
    ['edits', edits],
    ['review', review],
    ['live API', api],
    ['package', vsixSize],
    ['bundle sizes', bundleSizes],
    ['host spawn', hostSpawnToReady],
    ['activation', activation],
    ['dashboard', webview],
    ['scale', scale],
    ['dashboard scale', dashboardScale],
    ['provider usage', providerUsage],
    ['providers tab', providersTab],
    ['eval', evalBench],
  ];
  // `BENCH_ONLY=scale npm run bench` runs the named steps only (`BENCH_ONLY='dashboard scale'` the dashboard's scale rows).
  const only = process.env.BENCH_ONLY?.split(',');
  for (const [name, step] of steps.filter(([name]) => !only || only.includes(name))) {
    process.stderr.write(`bench: ${name}…\n`);
    results.push(...(await step()));
  }
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, Node ${process.version}`;
  console.log(`\n${machine}\n\n${table(results)}\n`);
  fs.writeFileSync(path.join(REPO, 'bench-results.json'), JSON.stringify({ machine, date: new Date().toISOString(), results }, null, 2));
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err);
    process.exit(1);
  },
);
