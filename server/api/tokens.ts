/**
 * The live API's tokens: a full one (may start and cancel runs) and a read-only one (watch and export), kept in
 * `<workspace>/.micro-agent/api-tokens.json` with mode 0600 so only the user can read them. `micro-agent token
 * rotate` rewrites the file; a running server notices on its next check and old tokens stop working at once.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import type { Scope } from '../protocol/api';

export interface Tokens {
  full: string;
  read: string;
}

const newToken = () => randomBytes(32).toString('base64url');

/** Writes fresh tokens, replacing any old ones. */
export function rotateTokens(file: string): Tokens {
  const tokens: Tokens = { full: newToken(), read: newToken() };
  writePrivate(file, JSON.stringify(tokens));
  return tokens;
}

/** Writes a file only its owner can read, atomically (a reader never sees half a token). */
export function writePrivate(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, text, { mode: 0o600 });
  fs.chmodSync(temp, 0o600);
  fs.renameSync(temp, file);
}

/** What `newToken` makes: 32 random bytes, base64url. A token file holding anything else was not written by micro-agent. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/**
 * The current tokens, re-read whenever the file changes, and which scope a presented token has. The file is
 * untrusted like everything under `.micro-agent/` (a cloned repository can ship one, with tokens its author
 * knows): tokens of the wrong shape, or a file others may read (micro-agent writes it 0600; a clone or a copy
 * does not), are replaced by fresh ones. `onTokens` hears each set in use, so they are redacted like keys.
 */
export class TokenStore {
  private tokens: Tokens;
  private stamp = '';

  constructor(
    private readonly file: string,
    private readonly onTokens: (tokens: Tokens) => void = () => undefined,
  ) {
    if (!fs.existsSync(file)) rotateTokens(file);
    this.tokens = this.load();
  }

  current(): Tokens {
    if (this.fileStamp() !== this.stamp) this.tokens = this.load();
    return this.tokens;
  }

  /** Compared in constant time (over fixed-length digests, so the length leaks nothing either). */
  scopeOf(presented: string | undefined): Scope | undefined {
    if (!presented) return undefined;
    const { full, read } = this.current();
    const digest = (text: string) => createHash('sha256').update(text).digest();
    const given = digest(presented);
    // Both comparisons always run: the time does not say which token matched.
    const isFull = timingSafeEqual(given, digest(full));
    const isRead = timingSafeEqual(given, digest(read));
    return isFull ? 'full' : isRead ? 'read' : undefined;
  }

  /** Changes whenever the file is rewritten or replaced (rotate renames a new file over it). */
  private fileStamp(): string {
    const stat = fs.statSync(this.file, { throwIfNoEntry: false });
    return stat ? `${stat.ino}:${stat.mtimeMs}:${stat.size}` : '';
  }

  private load(): Tokens {
    const tokens = this.readTokens() ?? rotateTokens(this.file);
    this.stamp = this.fileStamp();
    this.onTokens(tokens);
    return tokens;
  }

  /** The file's tokens when they can be trusted (see the class); undefined otherwise. */
  private readTokens(): Tokens | undefined {
    try {
      const stat = fs.statSync(this.file);
      if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) return undefined;
      const value = JSON.parse(fs.readFileSync(this.file, 'utf8')) as Partial<Tokens>;
      if (
        typeof value.full === 'string' &&
        typeof value.read === 'string' &&
        TOKEN_SHAPE.test(value.full) &&
        TOKEN_SHAPE.test(value.read) &&
        value.full !== value.read
      )
        return { full: value.full, read: value.read };
    } catch {
      // unreadable or removed: replaced below
    }
    return undefined;
  }
}
