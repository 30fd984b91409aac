/**
 * Who may talk to the live API. Host and Origin first (DNS rebinding, other sites in the user's browser),
 * refused before any token is looked at; then a bearer token and its scope. The dashboard page signs in with
 * a one-time code instead, so the token itself never sits in an address bar, a history entry or a Referer.
 */
import { randomBytes } from 'node:crypto';
import type * as http from 'node:http';
import type { Scope } from '../protocol/api';
import { ApiError } from './http';
import type { TokenStore } from './tokens';

const LOGIN_CODE_TTL_MS = 10 * 60_000;

/** Addresses that only this machine can reach; any other needs `--allow-remote`. */
export const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1'];

export class Gate {
  private hosts = new Set<string>();
  private origins = new Set<string>();
  private readonly loginCodes = new Map<string, number>();

  constructor(readonly tokens: TokenStore) {}

  /** Once listening: the Host names (and their origins) requests must carry. */
  listening(host: string, port: number): void {
    // On loopback, any loopback name may reach it; IPv6 literals appear in Host in brackets.
    const names = LOOPBACK_HOSTS.includes(host) ? LOOPBACK_HOSTS : [host];
    this.hosts = new Set(names.map((name) => `${name.includes(':') ? `[${name}]` : name}:${port}`));
    this.origins = new Set([...this.hosts].map((h) => `http://${h}`));
  }

  /** Host and Origin, checked before anything else (no token needed to refuse). */
  checkOrigin(req: http.IncomingMessage): void {
    if (!req.headers.host || !this.hosts.has(req.headers.host.toLowerCase()))
      throw new ApiError(403, 'wrong Host header: this API answers only on its own loopback address');
    const origin = req.headers.origin;
    if (origin !== undefined && !this.origins.has(origin.toLowerCase())) throw new ApiError(403, `cross-origin requests are refused (Origin ${origin})`);
  }

  /** The one place API requests are admitted: Host and Origin, then the token. */
  admit(req: http.IncomingMessage, token: string | undefined): Scope {
    this.checkOrigin(req);
    const scope = this.tokens.scopeOf(token);
    if (!scope) throw new ApiError(401, token ? 'the token is not valid (rotated?)' : 'missing Authorization: Bearer <token> (see .micro-agent/api.json)');
    return scope;
  }

  /** A code for the dashboard page's URL (`/#code=…`), traded for the full token once within 10 minutes. */
  mintLoginCode(): string {
    const code = randomBytes(18).toString('base64url');
    this.loginCodes.set(code, Date.now() + LOGIN_CODE_TTL_MS);
    return code;
  }

  /** The full token for a code that is valid now; the code is spent either way. */
  redeem(code: string): string {
    const expires = this.loginCodes.get(code);
    this.loginCodes.delete(code);
    if (expires === undefined || expires < Date.now()) throw new ApiError(401, 'this sign-in link was used already or has expired');
    return this.tokens.current().full;
  }
}

export function bearer(header: string | undefined): string | undefined {
  const match = /^Bearer ([\w.~+/=-]+)$/i.exec(header ?? '');
  return match?.[1];
}
