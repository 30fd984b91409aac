// `npm start`: copies the example workspace (a broken module and its tests) to a temp folder and runs the
// micro-agent loop on it with whatever provider the environment configures. Extra arguments go to `run`,
// e.g. `npm start -- --provider anthropic --model claude-sonnet-4-5`.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const workspace = mkdtempSync(join(tmpdir(), 'micro-agent-example-'));
cpSync(join(repo, 'examples', 'broken-math'), workspace, { recursive: true });
console.log(`example workspace: ${workspace}\n`);
const cli = join(repo, 'dist', 'cli.js');
const result = spawnSync(process.execPath, [cli, 'run', 'math.js', '-t', 'node --test', ...process.argv.slice(2)], { cwd: workspace, stdio: 'inherit' });
console.log(`\nthe workspace and its event log stay in ${workspace}; try: (cd ${workspace} && node ${cli} stats)`);
process.exit(result.status ?? 1);
