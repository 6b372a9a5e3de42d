/**
 * The daemon's JSON API as the page calls it: reads need no token; control requests carry
 * `Authorization: Bearer <token>`. The token comes from the URL fragment the daemon prints at
 * start (`#token=...`, never the query string, so it reaches no server log) or from the token
 * field, and is kept in sessionStorage (gone when the tab closes).
 */

import { withPipeline } from './pipeline.js';

const TOKEN_KEY = 'hairtrigger.token';

/** A failed request: `status` 0 when the daemon was unreachable. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** GET a JSON document relative to the page. A non-2xx answer throws an `ApiError` with the
 * server's error message. The token goes along when the tab has one: a daemon bound off
 * loopback wants it for reads too. */
export async function getJson<T>(path: string): Promise<T> {
  return request<T>(path, { method: 'GET', headers: bearer(storedToken(window.sessionStorage)) });
}

function bearer(token: string | null): Record<string, string> {
  return token !== null && token !== '' ? { authorization: `Bearer ${token}` } : {};
}

/** POST a control change with the token; throws `ApiError` (401: no or wrong token). */
export async function postControl<T>(path: string, body: unknown, token: string | null): Promise<T> {
  const headers = { 'content-type': 'application/json', ...bearer(token) };
  return request<T>(path, { method: 'POST', headers, body: JSON.stringify(body ?? {}) });
}

async function request<T>(path: string, init: RequestInit): Promise<T> {
  let res: Response;
  try {
    // The pipeline the page follows goes along (`?pipeline=`); routes about all of them ignore it.
    res = await fetch(withPipeline(new URL(path, document.baseURI), window.location), { ...init, cache: 'no-store' });
  } catch {
    throw new ApiError(0, `${init.method} ${path}: daemon unreachable`);
  }
  const text = await res.text();
  if (!res.ok) throw new ApiError(res.status, `${init.method} ${path}: ${res.status} ${messageOf(text)}`);
  return JSON.parse(text) as T;
}

function messageOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown; error?: unknown };
    return String(parsed.message ?? parsed.error ?? body).slice(0, 300);
  } catch {
    return body.slice(0, 300);
  }
}

/**
 * Takes `token=...` out of the fragment (storing it) and returns what remains of the
 * fragment, so the token does not stay in the address bar or the history.
 */
export function takeTokenFromHash(hash: string, storage: Storage): string {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const token = params.get('token');
  if (token === null) return hash.replace(/^#/, '');
  storage.setItem(TOKEN_KEY, token);
  params.delete('token');
  return params.toString().replace(/=$/, '').replace(/=&/g, '&');
}

export function storedToken(storage: Storage): string | null {
  return storage.getItem(TOKEN_KEY);
}

export function storeToken(storage: Storage, token: string): void {
  if (token === '') storage.removeItem(TOKEN_KEY);
  else storage.setItem(TOKEN_KEY, token);
}
