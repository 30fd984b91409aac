/**
 * go test, plain and -v. Output comes a package at a time and ends with `ok  \t<pkg>\t0.01s` or `FAIL\t<pkg>\t0.02s`;
 * `--- FAIL: TestX (0.00s)` (indented for subtests) and, with -v, `=== RUN TestX` and `--- PASS`/`--- SKIP`. A
 * test's log lines (`    x_test.go:9: got 1 want 2`) follow its `--- FAIL` line, or with -v come while it runs;
 * their paths are relative to the package folder, so frames carry the package, learnt from the trailer line.
 * A panic prints a goroutine trace with absolute paths; a build failure prints `# pkg` and `file.go:3:2: …`.
 */
import { SEP, countTotals, indentOf, parseLocation, type Draft, type LineReader, type DraftCase, type DraftFailure } from '../draft';

const RUN = /^=== (RUN|CONT|NAME|PAUSE)\s+(\S+)/;
const RESULT = /^(\s*)--- (PASS|FAIL|SKIP): (\S+) \([\d.]+s\)$/;
const LOG = /^(\s+)([^\s:]+\.go):(\d+): ?(.*)$/;
const TRAILER = /^(ok|FAIL|\?)\s+(\S+)\s+(?:[\d.]+s|\(cached\)|\[(?:no test files|build failed|setup failed)\])/;
/** go's note after a package's time: `ok  \tpkg\t0.01s [no tests to run]`, `?   \tpkg\t[no test files]`. */
const NOTE = /\[(no test files|no tests to run|build failed|setup failed)\]\s*$/;
const PANIC = /^panic: (.*?)(?: \[recovered\])?$/;
const TRACE = /^\t(\S+\.go):(\d+)(?: \+0x[0-9a-f]+)?$/;
const BUILD_HEADER = /^# (\S+)/;
const BUILD_ERROR = /^(\S+\.go):(\d+)(?::(\d+))?: (.*)$/;

interface GoTest {
  name: string;
  status?: DraftCase['status'];
  failure: DraftFailure;
  logIndent: number;
}

export function parseGo(lines: LineReader): Draft {
  const draft: Draft = { runner: 'go', totals: null, tests: [], failures: [], testFiles: [] };
  let verbose = false;
  // This package's tests, by name, in the order seen.
  let tests = new Map<string, GoTest>();
  let running: GoTest | undefined; // -v: the test whose output is streaming
  let lastResult: GoTest | undefined; // plain: the `--- FAIL` whose logs follow
  let lastLog: { test: GoTest; indent: number } | undefined;
  let panicking: GoTest | undefined;
  let build: { failure: DraftFailure } | undefined;
  const builds: DraftFailure[] = [];

  const test = (name: string): GoTest => {
    let t = tests.get(name);
    if (!t) {
      t = { name, failure: { name: name.split('/').join(SEP), message: [], frames: [] }, logIndent: 0 };
      tests.set(name, t);
    }
    return t;
  };

  // Each package's count, kept at its trailer; known only with -v (seen anywhere in the output), or from the note.
  const packages: { file: string; tests: number; skipped: number; note: string | undefined }[] = [];
  const countPackage = (pkg: string, note: string | undefined) => {
    const ran = [...tests.values()].filter((t) => t.status && !t.name.includes('/'));
    // `[no test files]` is a file-level entry, not a test.
    if (note === 'no test files') draft.tests.push({ name: pkg, status: 'passed', entry: true });
    packages.push({ file: pkg, tests: ran.length, skipped: ran.filter((t) => t.status === 'skipped').length, note });
  };

  const flushPackage = (pkg: string | undefined) => {
    const all = [...tests.values()];
    const parents = new Set<string>();
    for (const t of all) {
      const slash = t.name.lastIndexOf('/');
      for (let i = slash; i > 0; i = t.name.lastIndexOf('/', i - 1)) parents.add(t.name.slice(0, i));
    }
    for (const t of all) {
      if (!t.status) continue;
      const ownOutput = t.failure.message.length > 0 || t.failure.frames.length > 0;
      // A test with subtests is their suite: reported only when it failed with output of its own.
      if (parents.has(t.name) && !(t.status === 'failed' && ownOutput)) continue;
      draft.tests.push({ name: t.failure.name, status: t.status });
      if (t.status !== 'failed') continue;
      if (pkg) for (const f of t.failure.frames) if (!isAbsolute(f.file)) f.goPackage = pkg;
      if (!t.failure.message.length) t.failure.message.push('failed');
      draft.failures.push(t.failure);
    }
    tests = new Map();
    running = lastResult = undefined;
    lastLog = undefined;
    panicking = undefined;
  };

  for (let line = lines.next(); line !== undefined; line = lines.next()) {
    if (panicking) {
      const tr = TRACE.exec(line);
      if (tr) {
        const frame = parseLocation(`${tr[1]}:${tr[2]}`);
        if (frame) panicking.failure.frames.push(frame);
        continue;
      }
    }
    if (build) {
      // `file.go:3:2: undefined: x`, with tab-indented notes under it; anything else ends the build errors.
      const e = BUILD_ERROR.exec(line);
      if (e || (line.startsWith('\t') && build.failure.message.length)) {
        const frame = e ? parseLocation(`${e[1]}:${e[2]}${e[3] ? `:${e[3]}` : ''}`) : undefined;
        if (frame) build.failure.frames.push(frame);
        build.failure.message.push(line);
        continue;
      }
      if (build.failure.message.length) builds.push(build.failure);
      build = undefined;
    }
    const trailer = TRAILER.exec(line);
    if (trailer) {
      countPackage(trailer[2], NOTE.exec(line)?.[1]);
      flushPackage(trailer[2]);
      continue;
    }
    const b = BUILD_HEADER.exec(line);
    if (b) {
      build = { failure: { name: b[1], message: [], frames: [] } };
      continue;
    }
    const run = RUN.exec(line);
    if (run) {
      verbose = true;
      if (run[1] !== 'PAUSE') running = test(run[2]);
      lastResult = undefined;
      lastLog = undefined;
      continue;
    }
    const r = RESULT.exec(line);
    if (r) {
      const t = test(r[3]);
      t.status = r[2] === 'PASS' ? 'passed' : r[2] === 'SKIP' ? 'skipped' : 'failed';
      t.logIndent = r[1].length + 4;
      lastResult = t;
      lastLog = undefined;
      continue;
    }
    const p = PANIC.exec(line);
    if (p) {
      panicking = lastResult?.status === 'failed' ? lastResult : (running ?? lastResult);
      if (panicking) {
        panicking.status = 'failed';
        panicking.failure.message.push(`panic: ${p[1]}`);
      }
      continue;
    }
    const log = LOG.exec(line);
    if (log) {
      // Plain: the logs of the `--- FAIL` just above (the innermost at a lesser indent); -v: the running test.
      const owner = lastResult && indentOf(line) >= lastResult.logIndent ? lastResult : (running ?? lastResult);
      if (owner) {
        owner.failure.message.push(`${log[2]}:${log[3]}: ${log[4]}`);
        const frame = parseLocation(`${log[2]}:${log[3]}`);
        if (frame) owner.failure.frames.push(frame);
        lastLog = { test: owner, indent: indentOf(line) };
      }
      continue;
    }
    // A log message's further lines are indented under it.
    if (lastLog && line.trim() && indentOf(line) > lastLog.indent && !/^\s*--- /.test(line)) {
      lastLog.test.failure.message.push(line.slice(lastLog.indent));
      continue;
    }
    if (line.trim()) lastLog = undefined;
  }
  if (build?.failure.message.length) builds.push(build.failure);
  flushPackage(undefined);
  draft.failures.push(...builds);
  for (const f of builds) draft.tests.push({ name: f.name, status: 'failed', entry: true });

  // Plain go test names only the failures; -v names every test.
  draft.namesAll = verbose;
  const counted = packages.filter((p) => verbose || p.note === 'no tests to run' || p.note === 'no test files');
  if (counted.length) draft.fileCounts = counted.map(({ file, tests: n, skipped }) => ({ file, tests: n, skipped }));
  if (verbose) draft.totals = countTotals(draft.tests.filter((t) => !t.entry));
  return draft;
}

function isAbsolute(file: string): boolean {
  return /^(?:\/|[A-Za-z]:[\\/])/.test(file);
}
