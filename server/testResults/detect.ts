/**
 * Which runner printed this output, from the output alone: each runner has lines no other prints (jest's
 * `Tests: … total`, vitest's `Test Files`, mocha's `N passing (5ms)`, pytest's `= test session starts =`, go's
 * `ok  \t<pkg>\t0.01s`, …). Each kind of line scores a few times at most, so a long listing cannot outvote a summary.
 */
import { LineReader } from './draft';

export type OutputKind = 'tap' | 'nodeSpec' | 'jest' | 'vitest' | 'mocha' | 'ava' | 'pytest' | 'go';

/** Runner, weight, the characters a matching line can start with (after indentation), the pattern. */
const SIGNATURES: [OutputKind, number, string, RegExp][] = [
  ['tap', 3, 'T', /^TAP version \d+$/],
  ['tap', 2, '#', /^\s*# Subtest: /],
  ['tap', 2, '#', /^# (?:tests|pass|fail) \d+$/],
  ['nodeSpec', 3, 'ℹ', /^ℹ (?:tests|suites|pass|fail) \d+$/],
  ['nodeSpec', 3, '✖', /^✖ failing tests:$/],
  ['nodeSpec', 1, '▶', /^\s*▶ \S/],
  ['jest', 5, 'T', /^Tests:\s+.*\d+ total$/],
  ['jest', 5, 'T', /^Test Suites:\s/],
  ['jest', 2, 'PF', /^\s*(?:PASS|FAIL) \S+\.[cm]?[jt]sx?\b/],
  ['jest', 1, '●', /^\s*● .+ › /],
  ['vitest', 3, 'R', /^\s*RUN\s+v\d+\.\d+/],
  ['vitest', 5, 'T', /^\s*Test Files\s+\d/],
  ['vitest', 3, 'T', /^\s*Tests\s+\d+ (?:passed|failed|skipped|todo)\b.*\(\d+\)$/],
  ['vitest', 3, 'F', /^\s*FAIL\s+\S+ > /],
  ['vitest', 1, '❯', /^\s*❯ (?:\S+ )?\S+:\d+:\d+$/],
  ['mocha', 5, '0123456789', /^\s*\d+ passing \(\d+(?:ms|s|m)\)$/],
  ['mocha', 3, '0123456789', /^\s*\d+ failing$/],
  ['mocha', 2, '0123456789', /^\s*\d+ pending$/],
  ['ava', 4, '✘', /^\s*✘ \[(?:fail|timeout)\]: /],
  ['ava', 3, '0123456789', /^\s*\d+ tests? (?:passed|failed|skipped|todo)$/],
  ['ava', 3, '-', /^\s*- \[(?:skip|todo)\] /],
  ['pytest', 5, '=', /^=+ test session starts =+$/],
  ['pytest', 4, '=', /^=+ (?:FAILURES|ERRORS|short test summary info) =+$/],
  ['pytest', 3, 'FEP', /^(?:FAILED|ERROR|PASSED) \S+\.py::/],
  ['pytest', 5, '=', /^=+ .*\b\d+ (?:passed|failed|errors?|skipped)\b.* in [\d.]+s\b.*=+$/],
  ['pytest', 3, '0123456789', /^\d+ (?:passed|failed|errors?|skipped)(?:, \d+ \w+)* in [\d.]+s\b/],
  ['go', 4, 'oF', /^(?:ok|FAIL)\s+\S+\s+(?:[\d.]+s|\(cached\))/],
  ['go', 4, 'oF?', /^(?:ok|FAIL|\?)\s+\S+\s+\[(?:no test files|build failed|setup failed)\]/],
  ['go', 3, '-', /^\s*--- (?:FAIL|PASS|SKIP): \S+ \([\d.]+s\)$/],
  ['go', 2, '=', /^=== RUN\s/],
];

const MAX_HITS = 3;
/** Runners print their headers at the start and their summaries at the end: these many lines of each are read. */
const SAMPLE = 4000;

const BY_FIRST = new Map<string, number[]>();
SIGNATURES.forEach(([, , first], k) => {
  for (const c of first) BY_FIRST.set(c, [...(BY_FIRST.get(c) ?? []), k]);
});

export function detect(text: string): OutputKind | undefined {
  const score = new Map<OutputKind, number>();
  const hits = new Array<number>(SIGNATURES.length).fill(0);
  const read = (line: string) => {
    let i = 0;
    while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
    const candidates = i < line.length ? BY_FIRST.get(line[i]) : undefined;
    if (!candidates) return;
    for (const k of candidates) {
      if (hits[k] >= MAX_HITS) continue;
      const [kind, weight, , re] = SIGNATURES[k];
      if (re.test(line)) {
        hits[k]++;
        score.set(kind, (score.get(kind) ?? 0) + weight);
      }
    }
  };
  const head = new LineReader(text);
  for (let i = 0, line = head.next(); line !== undefined; line = head.next()) {
    read(line);
    if (++i === SAMPLE) {
      // The last SAMPLE lines, unless the head already reached them.
      let start = text.length;
      for (let k = 0; k < SAMPLE && start > 0; k++) start = text.lastIndexOf('\n', start - 1);
      const tail = new LineReader(text, Math.max(start + 1, head.offset));
      for (let l = tail.next(); l !== undefined; l = tail.next()) read(l);
      break;
    }
  }
  let best: OutputKind | undefined;
  let bestScore = 2; // one weak hint is not enough
  for (const [kind, s] of score) {
    if (s > bestScore) {
      best = kind;
      bestScore = s;
    }
  }
  return best;
}
