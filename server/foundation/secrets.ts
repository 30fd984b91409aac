/**
 * Every secret the product knows, in one place: which environment variables hold one (the providers' API and
 * admin keys, the alert webhook's URL), and the values this process holds (those, a webhook URL from the
 * settings, the live API's tokens). The same list redacts the log and every prompt before it leaves, and is
 * stripped from the environment of the code under test, so no other module keeps a list of its own.
 */
import { ALERT_WEBHOOK_VARIABLE } from '../protocol/settings';
import { PROVIDER_INFO, PROVIDERS } from '../protocol/providers';

type Env = Readonly<Record<string, string | undefined>>;

/** The variables whose values are secrets: never in a test command's environment, redacted wherever they appear. */
export const SECRET_VARIABLES: readonly string[] = [
  ...PROVIDERS.flatMap((name): string[] => [PROVIDER_INFO[name].keyVariable ?? [], PROVIDER_INFO[name].adminKeyVariable ?? []].flat()),
  ALERT_WEBHOOK_VARIABLE,
];

/** Shorter values are not redacted: replacing every "ab" in a log would say nothing and garble everything. */
const MIN_SECRET_CHARS = 4;

/** Every secret value present in an environment. */
export function secretsIn(env: Env): string[] {
  return SECRET_VARIABLES.flatMap((name) => env[name]?.trim() || []);
}

/** `text` with every secret replaced by `***`, the longest first so a key that contains another goes whole. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join('***');
  return out;
}

/**
 * The secret values one process holds, by who set them (the engine's keys, the webhook, the API tokens), so one
 * setter never clears another's. The event log holds one and redacts every line with it.
 */
export class Secrets {
  private readonly groups = new Map<string, readonly string[]>();
  private all: string[] = [];

  set(values: readonly string[], group: string): void {
    this.groups.set(group, values);
    const unique = new Set([...this.groups.values()].flat().filter((value) => value.length >= MIN_SECRET_CHARS));
    this.all = [...unique].sort((a, b) => b.length - a.length);
  }

  values(): readonly string[] {
    return this.all;
  }

  redact(text: string): string {
    return redact(text, this.all);
  }

  /**
   * The environment for code under test (a test command, a git hook): without any secret variable, and without
   * any other variable whose value holds one of these values (a copy of a key under another name).
   */
  strip(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    const copy: NodeJS.ProcessEnv = { ...env };
    for (const name of SECRET_VARIABLES) delete copy[name];
    for (const [name, value] of Object.entries(copy)) if (value && this.all.some((secret) => value.includes(secret))) delete copy[name];
    return copy;
  }
}
