/**
 * What the browser tests share: the built page, Chromium's flags, a fake view whose snapshots
 * move on, and a recorder of what went wrong in the page.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { build } from 'vite';
import type { FakeView } from '../../host/src/server/testing.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const uiDir = join(repoRoot, 'ui', 'dist');
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic',
];

/** Builds ui/dist unless it is there. */
export async function ensureUiBuilt(): Promise<void> {
  if (!existsSync(join(uiDir, 'index.html'))) await build({ configFile: join(repoRoot, 'ui', 'vite.config.ts'), logLevel: 'warn' });
}

/** Every snapshot the server takes (hello and the snapshotIntervalMs timer) shows 1,234 more frames and
 * half a second more. */
export function tickSnapshots(view: FakeView): void {
  const snapshot = view.snapshot;
  view.snapshot = () => {
    view.current.frames += 1234;
    view.current.atMs += 500;
    return snapshot();
  };
}

/** Records page errors, console errors and responses >= 400 (as "status path") into
 * `problems`, except responses `allowed` says are expected. */
export function watchPage(page: Page, problems: string[], allowed: (status: number, path: string) => boolean = () => false): void {
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    // Failed requests are judged by their responses below.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(`console: ${msg.text()}`);
  });
  page.on('response', (res) => {
    const path = new URL(res.url()).pathname;
    if (res.status() >= 400 && !allowed(res.status(), path)) problems.push(`${res.status()} ${path}`);
  });
  // A request the page's own navigation cancels (a reload while a poll is in flight) is not a fault.
  page.on('requestfailed', (req) => {
    if (req.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`request failed: ${req.url()} ${req.failure()?.errorText ?? ''}`);
  });
}

/** What these tests provoke on purpose: while a test has stopped the server or daemon, the
 * page's websocket reconnects and any request in flight fail. */
const OUTAGE = ['WebSocket connection', 'net::ERR_CONNECTION_REFUSED', 'net::ERR_EMPTY_RESPONSE', 'net::ERR_CONNECTION_RESET'];

/** `problems` without those of a deliberate outage. */
export function outsideOutage(problems: readonly string[]): string[] {
  return problems.filter((p) => !OUTAGE.some((o) => p.includes(o)));
}
