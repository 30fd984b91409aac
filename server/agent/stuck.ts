/**
 * Notices a run going nowhere. An iteration brings nothing new when the model's reply repeats an earlier reply
 * of the run, or its tests fail with the same failing tests and messages as an earlier iteration (the
 * baseline included). Three such iterations in a row and the run stops as `stuck`: a model that keeps sending
 * one wrong answer costs at most four calls instead of the whole budget. Pure.
 */
import { createHash } from 'node:crypto';
import type { TestReport } from '../protocol/testReport';

export const STUCK_AFTER = 3;

export class StuckDetector {
  private readonly replies = new Set<string>();
  private readonly failures = new Set<string>();
  private streak = 0;

  /** The failures the run started from: the same failures again later are nothing new. */
  baseline(failures: string): void {
    this.failures.add(failures);
  }

  /**
   * Records one iteration: the model's reply and, when its code was tested, the failure signature. True when
   * this makes `STUCK_AFTER` iterations in a row that brought nothing new.
   */
  record(reply: string, failures?: string): boolean {
    const replyKey = digest(reply.trim());
    const repeatedReply = this.replies.has(replyKey);
    this.replies.add(replyKey);
    const repeatedFailures = failures !== undefined && this.failures.has(failures);
    if (failures !== undefined) this.failures.add(failures);
    this.streak = repeatedReply || repeatedFailures ? this.streak + 1 : 0;
    return this.streak >= STUCK_AFTER;
  }
}

/**
 * What failed, independent of timings: the failing tests and their messages when the report was read, else
 * the output with numbers blanked (durations, pids and ports change from run to run).
 */
export function failureSignature(report: TestReport, output: string): string {
  if (report.runner !== 'unknown') {
    const failures = report.failures.map((failure) => `${failure.name}\n${failure.message}`).sort();
    return digest(`${report.runner}\n${failures.join('\n\n')}`);
  }
  return digest(output.replace(/\d+(\.\d+)?/g, '#'));
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
