/**
 * The last line of defence for `micro-agent serve` and the editor's host: an error nothing else caught is
 * logged with its stack, every run is cancelled (killing its tests and putting its file back, as a user's
 * cancel would), and only then does the process exit, non-zero. A process in an unknown state must not go on
 * serving, but it must never leave a model's attempt in the user's file or die without a word.
 */
const CLEANUP_LIMIT_MS = 15_000;

export interface CrashGuardOptions {
  /** Cancels every run and resolves once their files are restored. */
  endRuns: () => Promise<void>;
  log: (message: string) => void;
  exit?: (code: number) => void;
}

export function installCrashGuard(options: CrashGuardOptions): void {
  let crashing = false;
  const crash = (kind: string, err: unknown) => {
    options.log(`micro-agent: ${kind}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    if (crashing) return;
    crashing = true;
    options.log('micro-agent: cancelling runs and restoring their files before exiting');
    const limit = new Promise<void>((resolve) => setTimeout(resolve, CLEANUP_LIMIT_MS).unref());
    void Promise.race([options.endRuns().catch((cleanupErr: unknown) => options.log(`micro-agent: cleanup failed: ${String(cleanupErr)}`)), limit]).finally(
      () => (options.exit ?? process.exit)(1),
    );
  };
  process.on('uncaughtException', (err) => crash('unexpected error', err));
  process.on('unhandledRejection', (reason) => crash('unhandled promise rejection', reason));
}
