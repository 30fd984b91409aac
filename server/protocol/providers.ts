/**
 * The provider table: every fact about a provider that more than one part needs (the host, the CLI, the
 * extension's pickers and key storage), in one place. Plain values only.
 */

export const PROVIDERS = ['openai', 'anthropic', 'ollama'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export function isProviderName(value: unknown): value is ProviderName {
  return typeof value === 'string' && (PROVIDERS as readonly string[]).includes(value);
}

/** The message every front end shows for a provider name it does not know. */
export function unknownProviderMessage(value: unknown): string {
  return `unknown provider "${String(value)}" (expected ${PROVIDERS.join(', ').replace(/, (?=[^,]*$)/, ' or ')})`;
}

export interface ProviderInfo {
  label: string;
  /** The environment variable the host reads the key from; null when the provider takes none. */
  keyVariable: string | null;
  /**
   * The vendor's organization admin key (usage and cost reports), if the user has one in the environment: micro-agent
   * never uses it, but it is a secret it knows to keep from the code under test and from prompts.
   */
  adminKeyVariable: string | null;
  defaultModel: string;
  /** Offered first in the model picker; any other id may be typed. */
  suggestedModels: readonly string[];
}

export const PROVIDER_INFO = {
  openai: {
    label: 'OpenAI',
    keyVariable: 'OPENAI_API_KEY',
    adminKeyVariable: 'OPENAI_ADMIN_KEY',
    defaultModel: 'gpt-4.1-mini',
    suggestedModels: ['gpt-4.1-mini', 'gpt-4.1', 'gpt-5-mini', 'gpt-5', 'gpt-4o-mini', 'o4-mini'],
  },
  anthropic: {
    label: 'Anthropic',
    keyVariable: 'ANTHROPIC_API_KEY',
    adminKeyVariable: 'ANTHROPIC_ADMIN_KEY',
    defaultModel: 'claude-sonnet-4-5',
    suggestedModels: ['claude-sonnet-4-5', 'claude-haiku-4-5', 'claude-opus-4-5'],
  },
  ollama: {
    label: 'Ollama',
    keyVariable: null,
    adminKeyVariable: null,
    defaultModel: 'qwen2.5-coder',
    suggestedModels: ['qwen2.5-coder', 'llama3.1', 'deepseek-coder-v2'],
  },
} as const satisfies Record<ProviderName, ProviderInfo>;

/** The providers that need a key. */
export type KeyedProvider = { [P in ProviderName]: (typeof PROVIDER_INFO)[P]['keyVariable'] extends string ? P : never }[ProviderName];

/** Where Ollama listens when neither `devAi.ollamaUrl` nor `OLLAMA_HOST` says. */
export const DEFAULT_OLLAMA_URL = 'http://127.0.0.1:11434';

/** The provider to use when neither the request nor the settings name one: the first with a key, else Ollama. */
export function defaultProvider(env: Readonly<Record<string, string | undefined>>): ProviderName {
  return (
    PROVIDERS.find((name) => {
      const variable = PROVIDER_INFO[name].keyVariable;
      return variable !== null && Boolean(env[variable]);
    }) ?? 'ollama'
  );
}
