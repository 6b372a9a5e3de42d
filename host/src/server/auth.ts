/**
 * The control API's bearer token: where it comes from (config, environment, or generated at
 * start-up), how a request's token is compared (constant time), and the start-up rule that a
 * server reachable from other machines needs a token someone chose.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigError, RequestError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import { isLoopbackAddress } from './host-guard.js';

/** Where the token in force came from; it names the caller in the audit log. */
export type TokenSource = 'config' | 'env' | 'generated';

/** The token in force. `value` is secret: log it only where the brief says (once, at start). */
export interface ControlToken {
  source: TokenSource;
  value: string;
}

/** Environment variable that sets the token when the config does not. */
export const TOKEN_ENV = 'HAIRTRIGGER_TOKEN';

/** Bytes of a generated token: 256 bits, well over the 128 a guess must beat. */
const GENERATED_TOKEN_BYTES = 32;

/**
 * The token in force: `server.token` from the config, else `env` (HAIRTRIGGER_TOKEN), else a
 * fresh random one (base64url, 256 bits) from `random`. An empty env value counts as unset.
 */
export function resolveToken(configured: string | undefined, env: string | undefined, random: (bytes: number) => Buffer = randomBytes): ControlToken {
  if (configured !== undefined) return { source: 'config', value: configured };
  if (env !== undefined && env.length > 0) return { source: 'env', value: env };
  return { source: 'generated', value: random(GENERATED_TOKEN_BYTES).toString('base64url') };
}

/**
 * Refuses, at start, a server bound off loopback without a token someone configured: a
 * generated token is printed to the daemon's stderr only, so a remote operator could not
 * hold it, and a control API reachable from the network must never run on a token nobody
 * chose. Throws `ConfigError` naming `server.host` and `server.token`.
 */
export function checkBind(host: string, token: ControlToken): void {
  if (isLoopbackAddress(host) || token.source !== 'generated') return;
  throw new ConfigError('config: server.host', `"${host}" is not a loopback address, and no server.token (or ${TOKEN_ENV}) is set: set server.token, or bind 127.0.0.1`);
}

/** The dashboard URL that hands the token to the page in its fragment (never sent to a server). */
export function dashboardUrl(baseUrl: string, token: ControlToken): string {
  return `${baseUrl}/#token=${encodeURIComponent(token.value)}`;
}

/**
 * Checks `Authorization: Bearer <token>` headers against one token. Both sides are hashed
 * with SHA-256 and compared with `crypto.timingSafeEqual`: equal-length digests, so neither
 * the comparison's time nor a length check tells a caller how much of a guess was right.
 */
export class TokenCheck {
  private readonly digest: Buffer;
  private lastLogMs = Number.NEGATIVE_INFINITY;
  private refusedSinceLog = 0;

  /** `onRefused` counts every refusal; `log` gets one line a second at most (`authLogIntervalMs`). */
  constructor(
    readonly token: ControlToken,
    private readonly onRefused: () => void,
    private readonly log: (line: string) => void,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.digest = sha256(token.value);
  }

  /** Whether `header` (an Authorization header's value) carries the token. */
  matches(header: string | undefined): boolean {
    const given = bearerToken(header);
    return given !== null && timingSafeEqual(sha256(given), this.digest);
  }

  /**
   * Passes a request carrying the token; otherwise counts and (rate-limited) logs it and
   * throws a 401 `RequestError` naming `where` (the method and route) and the client.
   */
  require(header: string | undefined, where: string, client: string): void {
    if (this.matches(header)) return;
    this.onRefused();
    const why = header === undefined ? 'no Authorization header' : 'wrong or malformed bearer token';
    this.logRefusal(`${where} from ${client}: ${why}`);
    throw new RequestError(where, `${why}; control requests need "Authorization: Bearer <token>" (the token the daemon printed at start, server.token or ${TOKEN_ENV})`, 401);
  }

  private logRefusal(line: string): void {
    this.refusedSinceLog++;
    const now = this.nowMs();
    if (now - this.lastLogMs < limits.authLogIntervalMs) return;
    const more = this.refusedSinceLog > 1 ? ` (${this.refusedSinceLog - 1} more refused since the last line)` : '';
    this.log(`unauthorized control request refused: ${line}${more}`);
    this.lastLogMs = now;
    this.refusedSinceLog = 0;
  }
}

/** The token of `Bearer <token>` (scheme case-insensitive, RFC 6750), null for anything else. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^bearer +(\S+) *$/i.exec(header);
  return m === null ? null : m[1]!;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
