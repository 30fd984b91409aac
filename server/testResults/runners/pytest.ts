/**
 * pytest, default and `-q`/`-v`/`-rA`: progress lines (`tests/test_x.py F..s`, or `tests/test_x.py::test_a PASSED`
 * with -v), the `= FAILURES =` and `= ERRORS =` sections with a `___ TestAdd.test_sums ___` block per failure
 * (source, `E   ` lines, `tests/test_x.py:8: AssertionError`), the short summary (`FAILED nodeid - msg`,
 * `PASSED nodeid` with -rA) and `=== 1 failed, 2 passed in 0.1s ===` (bare with -q).
 */
import { SEP, parseLocation, tidyErrorLine, zeroTotals, type Draft, type LineReader, type DraftCase, type DraftFailure, type RawFrame } from '../draft';

const ROOTDIR = /^rootdir: (.+?)(?:, (?:configfile|inifile|testpaths): .*)?$/;
const PROGRESS = /^(\S+\.py) [.FEsxXP]+\s*(?:\[\s*\d+%\])?$/;
const VERBOSE = /^(\S+\.py::.+?) (PASSED|FAILED|SKIPPED|ERROR|XFAIL|XPASS)\b/;
const SHORT = /^(PASSED|FAILED|ERROR|XFAIL|XPASS) (\S+\.py::.*)$/;
/** A module that could not be collected: an entry, not a test (`ERROR tests/test_x.py - ImportError…`). */
const COLLECT_ERROR = /^ERROR (\S+\.py)(?: - .*)?$/;
const SECTION = /^=+ (.*?) =+$/;
const BLOCK = /^_{3,} (.+?) _{3,}$/;
const FRAME = /^(\S+\.py):(\d+):(?: (.*))?$/;
const TOTALS = /^=*\s*((?:\d+ (?:failed|passed|skipped|deselected|xfailed|xpassed|errors?|warnings?|rerun)(?:, )?)+)(?: in [\d.]+s.*?)?\s*=*$/;
const NO_TESTS = /^=*\s*no tests ran\b/;

const STATUS: Record<string, DraftCase['status']> = {
  PASSED: 'passed',
  FAILED: 'failed',
  ERROR: 'failed',
  SKIPPED: 'skipped',
  XFAIL: 'skipped',
  XPASS: 'passed',
};

export function parsePytest(lines: LineReader): Draft {
  const draft: Draft = { runner: 'pytest', totals: null, tests: [], failures: [], testFiles: [] };
  let rootdir: string | undefined;
  let section = '';
  const byNodeId = new Map<string, DraftCase>();
  const summaryMessage = new Map<string, string>();
  let block: { title: string; lines: string[] } | undefined;
  const blocks: { title: string; lines: string[] }[] = [];

  const setCase = (nodeid: string, status: DraftCase['status']) => {
    const { file, name } = splitNodeId(nodeid);
    const known = byNodeId.get(nodeid);
    if (known) known.status = status;
    else {
      const c: DraftCase = { name, status, file, base: rootdir };
      byNodeId.set(nodeid, c);
      draft.tests.push(c);
    }
  };

  for (let line = lines.next(); line !== undefined; line = lines.next()) {
    const s = SECTION.exec(line);
    if (s && line.startsWith('==')) {
      if (block) blocks.push(block);
      block = undefined;
      const t = TOTALS.exec(line);
      if (t) draft.totals = parseTotals(t[1]);
      else if (NO_TESTS.test(line)) draft.totals = zeroTotals();
      section = s[1].trim();
      continue;
    }
    if (section === 'FAILURES' || section === 'ERRORS') {
      const b = BLOCK.exec(line);
      if (b) {
        if (block) blocks.push(block);
        block = { title: b[1], lines: [] };
      } else if (block) block.lines.push(line);
      continue;
    }
    const r = ROOTDIR.exec(line);
    if (r) {
      rootdir = r[1];
      continue;
    }
    const p = PROGRESS.exec(line);
    if (p) {
      draft.testFiles.push({ file: p[1], base: rootdir });
      continue;
    }
    const v = VERBOSE.exec(line);
    if (v) {
      setCase(v[1], STATUS[v[2]]);
      continue;
    }
    const sh = SHORT.exec(line);
    if (sh) {
      // `FAILED nodeid - message`: node ids seldom hold ' - ', messages often do.
      const dash = sh[2].indexOf(' - ');
      const nodeid = (dash < 0 ? sh[2] : sh[2].slice(0, dash)).trim();
      setCase(nodeid, STATUS[sh[1]]);
      if (dash >= 0 && (sh[1] === 'FAILED' || sh[1] === 'ERROR')) summaryMessage.set(nodeid, sh[2].slice(dash + 3));
      continue;
    }
    const c = COLLECT_ERROR.exec(line);
    if (c) {
      if (!byNodeId.has(c[1])) {
        const entry: DraftCase = { name: c[1], status: 'failed', file: c[1], base: rootdir, entry: true };
        byNodeId.set(c[1], entry);
        draft.tests.push(entry);
      }
      continue;
    }
    const t = TOTALS.exec(line);
    if (t && /\d+ \w+.* in [\d.]+s/.test(line)) draft.totals = parseTotals(t[1]);
  }
  if (block) blocks.push(block);

  // Blocks are titled `TestAdd.test_sums` or `test_param[1-1-2]`: match them to the failed node ids.
  const failedIds = [...byNodeId.entries()].filter(([, c]) => c.status === 'failed').map(([id]) => id);
  const byTitle = new Map<string, string>();
  for (const id of failedIds) {
    const parts = id.split('::');
    byTitle.set(parts.slice(1).join('.'), id);
  }
  const used = new Set<string>();
  for (const b of blocks) {
    const nodeid = byTitle.get(b.title) ?? (b.title.startsWith('ERROR at ') ? byTitle.get(b.title.replace(/^ERROR at \w+ of /, '')) : undefined);
    const failure = readBlock(b.lines);
    if (nodeid) {
      used.add(nodeid);
      const { file, name } = splitNodeId(nodeid);
      failure.name = name;
      failure.file = file;
    } else {
      // `ERROR collecting tests/test_x.py` as printed; `TestAdd.test_sums` with no short summary to match: split.
      failure.name = b.title.includes(' ') ? b.title : titleName(b.title);
    }
    if (!failure.message.length) {
      const summary = nodeid ? summaryMessage.get(nodeid) : undefined;
      if (summary) failure.message.push(summary);
    }
    draft.failures.push(failure);
  }
  // Failures the summary names but no block shows (--tb=no).
  for (const id of failedIds) {
    if (used.has(id)) continue;
    const { file, name } = splitNodeId(id);
    draft.failures.push({ name, file, message: [summaryMessage.get(id) ?? 'failed'], frames: [] });
  }
  if (draft.tests.length === 0) {
    for (const f of draft.failures) {
      const collecting = f.name.startsWith('ERROR collecting ');
      draft.tests.push(
        collecting
          ? { name: f.name, status: 'failed', file: f.file, base: rootdir, entry: true }
          : { name: f.name, status: 'failed', file: f.file, base: rootdir },
      );
    }
  }
  // pytest counts a module it could not collect among its errors; an entry is no test.
  if (draft.totals) for (const t of draft.tests) if (t.entry && draft.totals.failed > 0) draft.totals.failed--;
  return draft;
}

/** `tests/test_x.py::TestAdd::test_sums` → file and `TestAdd › test_sums`. */
function splitNodeId(nodeid: string): { file: string; name: string } {
  const parts = nodeid.split('::');
  return { file: parts[0], name: parts.slice(1).join(SEP) || parts[0] };
}

function parseTotals(text: string) {
  const totals = zeroTotals();
  for (const m of text.matchAll(/(\d+) (failed|passed|skipped|xfailed|xpassed|errors?)\b/g)) {
    const n = Number(m[1]);
    if (m[2] === 'failed' || m[2].startsWith('error')) totals.failed += n;
    else if (m[2] === 'passed' || m[2] === 'xpassed') totals.passed += n;
    else totals.skipped += n;
  }
  return totals;
}

/** A failure block: `E   ` lines are the message; `path.py:12: …` lines the frames, outermost first. */
function readBlock(lines: string[]): DraftFailure {
  const failure: DraftFailure = { name: '', message: [], frames: [] };
  const frames: RawFrame[] = [];
  let captured = false;
  for (const line of lines) {
    if (/^-{3,} .* -{3,}$/.test(line)) {
      captured = true; // `--- Captured stdout call ---` and the like: output, not traceback
      continue;
    }
    if (captured) continue;
    if (line.startsWith('E ')) {
      const text = line.slice(1);
      failure.message.push(failure.message.length === 0 ? tidyErrorLine(text) : text);
      continue;
    }
    const f = FRAME.exec(line);
    if (f) {
      const frame = parseLocation(`${f[1]}:${f[2]}`);
      if (frame) frames.push(frame);
    }
  }
  failure.frames = frames.reverse();
  return failure;
}

/** `TestAdd.test_sums[a.b]` → `TestAdd › test_sums[a.b]`: dots before the parameters only. */
function titleName(title: string): string {
  const bracket = title.indexOf('[');
  const head = bracket < 0 ? title : title.slice(0, bracket);
  return head.split('.').join(SEP) + (bracket < 0 ? '' : title.slice(bracket));
}
