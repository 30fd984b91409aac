/**
 * The contract between the micro-agent host, the CLI, the extension and the webview, split by edge. Each module
 * is pure (types and plain values); only `lsp.ts` loads the jsonrpc runtime, so the webview imports the modules
 * it needs directly rather than this barrel.
 */
export * from './api';
export * from './editQuality';
export * from './eval';
export * from './events';
export * from './format';
export * from './leaderboard';
export * from './lsp';
export * from './methods';
export * from './providers';
export * from './providerUsage';
export * from './runSummary';
export * from './settings';
export * from './testReport';
export * from './webview';
