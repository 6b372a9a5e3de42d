/**
 * The `Host` header check that stops DNS rebinding: a page on attacker.example that rebinds
 * its name to 127.0.0.1 still sends `Host: attacker.example` (or `127.attacker.example`),
 * so a loopback server answers only names it knows exactly. No prefix or suffix matching:
 * `127.attacker.example`, `localhost.evil` and `127.0.0.1.nip.io` are all foreign.
 */
import { isIPv4 } from 'node:net';

/** `:port` with 1 to 5 digits, the only suffix a Host header may add to a name. */
const PORT_SUFFIX = /:(\d{1,5})$/;

/** Loopback names a Host header may carry, besides any exact 127.x.y.z address. */
const LOOPBACK_HOST_NAMES = new Set(['localhost', '[::1]']);

/** True for a bind address on loopback: `localhost`, `::1` / `[::1]`, or an IPv4 127.x.y.z. */
export function isLoopbackAddress(host: string): boolean {
  const name = host.toLowerCase();
  return name === '::1' || LOOPBACK_HOST_NAMES.has(name) || isLoopbackIPv4(name);
}

function isLoopbackIPv4(name: string): boolean {
  return isIPv4(name) && name.startsWith('127.');
}

/**
 * Splits a Host header into its name (lower case, IPv6 in brackets) and checks the port
 * part; null when the header is not `name` or `name:port` with a port in 0..65535.
 */
export function hostName(header: string): string | null {
  const lower = header.toLowerCase();
  const m = PORT_SUFFIX.exec(lower);
  if (m !== null && Number(m[1]) > 65535) return null;
  const name = m === null ? lower : lower.slice(0, m.index);
  if (name.length === 0 || name.includes(':') && !(name.startsWith('[') && name.endsWith(']'))) return null;
  return name;
}

/**
 * Whether a request's `Host` header names this server: exactly `localhost`, `[::1]`, an
 * IPv4 127.x.y.z address or one of `allowed` (compared case-insensitively), each with or
 * without `:port`. Anything else, a missing header included, is refused.
 */
export function isAllowedHost(header: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (header === undefined) return false;
  const name = hostName(header);
  if (name === null) return false;
  return LOOPBACK_HOST_NAMES.has(name) || isLoopbackIPv4(name) || allowed.has(name);
}

/** The configured extra names, normalised for `isAllowedHost` (lower case). */
export function allowedHostSet(names: readonly string[] = []): ReadonlySet<string> {
  return new Set(names.map((n) => n.toLowerCase()));
}
