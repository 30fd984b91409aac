/**
 * Where failing tests say they failed: `file:line` locations in test output, for diagnostics. Understands
 * node's test runner (TAP `location:` and stack traces), mocha/jest/vitest stack traces, pytest and go test.
 * Pure: paths are returned as written; the caller maps them into the workspace.
 */
export interface FailureLocation {
  file: string;
  line: number;
  message: string;
}

const STACK = /^\s*(?:at )?(?:.*? \()?((?:file:\/\/)?(?:\/|[A-Za-z]:[\\/]|\.{1,2}\/)?[^\s():]+\.[cm]?[jt]sx?):(\d+):(\d+)\)?\s*$/;
const NODE_LOCATION = /^\s*location: '(.+?):(\d+):(\d+)'\s*$/;
const PYTEST = /^([^\s:]+\.py):(\d+): (.+)$/;
const GO_TEST = /^\s+([^\s:]+_test\.go):(\d+): (.+)$/;
const FAILED_TEST = /^\s*(?:not ok \d+ - |✖ |×|✕ |\d+\) |FAIL(?:ED)? )(.+?)\s*(?:\(\d.*\))?$/;
const ERROR_LINE = /(AssertionError|Error:|expected|Expected|assert)/;

export function failureLocations(output: string): FailureLocation[] {
  const out: FailureLocation[] = [];
  const seen = new Map<string, FailureLocation>();
  let test = '';
  let error = '';
  const add = (file: string, line: number, message: string) => {
    const key = `${file}:${line}`;
    if (file.includes('node_modules') || file.startsWith('node:')) return;
    // The same place often appears twice (TAP location, then the stack): keep the more telling message.
    const known = seen.get(key);
    if (known) {
      if (message.length > known.message.length) known.message = message;
      return;
    }
    const location = { file: file.replace(/^file:\/\//, ''), line, message };
    seen.set(key, location);
    out.push(location);
  };
  for (const raw of output.split(/\r?\n/)) {
    const failed = FAILED_TEST.exec(raw);
    if (failed) {
      test = failed[1].trim();
      error = '';
      continue;
    }
    if (!error && ERROR_LINE.test(raw) && !STACK.test(raw)) error = raw.trim().replace(/^error: /, '').replace(/^['"|-]+\s*/, '');
    const describe = () => [test && `test failed: ${test}`, error].filter(Boolean).join(' — ') || 'test failed here';
    let m = NODE_LOCATION.exec(raw) ?? STACK.exec(raw);
    if (m) {
      add(m[1], Number(m[2]), describe());
      continue;
    }
    m = PYTEST.exec(raw) ?? GO_TEST.exec(raw);
    if (m) add(m[1], Number(m[2]), m[3].trim());
  }
  return out;
}
