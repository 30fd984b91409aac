/**
 * Asking runners for a report that names every test, without touching the user's command line or files: some read
 * extra options from the environment. pytest appends `PYTEST_ADDOPTS` to its own options (`-rA`: a `PASSED`/`FAILED`
 * line per test in the short summary, also under `-q`); go applies `GOFLAGS` to the commands that know a flag (`-v`:
 * `=== RUN` and `--- PASS` per test). The user's own values come first and are kept. Pure.
 */
const REPORT_FLAGS: Record<string, string> = {
  PYTEST_ADDOPTS: '-rA',
  GOFLAGS: '-v',
};

export function withReportFlags(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy: NodeJS.ProcessEnv = { ...env };
  for (const [name, flag] of Object.entries(REPORT_FLAGS)) {
    const own = copy[name]?.trim();
    copy[name] = own ? `${own} ${flag}` : flag;
  }
  return copy;
}
