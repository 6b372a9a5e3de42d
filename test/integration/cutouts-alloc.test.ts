/**
 * The cutout triplet allocates nothing per alert (the avsc decode before it does, which the
 * alerts modality accepts; host/src/modalities/alerts/README.md): bench/cutouts-alloc-probe.ts
 * in its own process with --single-threaded, as test/integration/hot-path-alloc.test.ts runs
 * its probe. Needs `make build` (build/bench).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../support/fixtures.js';

const PROBE = join(REPO, 'build', 'bench', 'cutouts-alloc-probe.js');
const FLAGS = ['--single-threaded', '--expose-gc', '--max-semi-space-size=128', '--min-semi-space-size=128'];

describe('cutoutTriplet on real alerts', () => {
  it('allocates nothing per alert, ZTF (gzip) and Rubin (plain)', () => {
    expect(existsSync(PROBE), `${PROBE}: run make build`).toBe(true);
    const r = spawnSync(process.execPath, [...FLAGS, PROBE], { cwd: REPO, encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as Record<'ztf' | 'rubin', { alerts: number; perAlertBytes: number }>;
    expect(got.ztf.alerts).toBe(50);
    expect(got.rubin.alerts).toBe(100);
    // Any object, string or boxed number per alert costs at least 16 bytes.
    expect(got.ztf.perAlertBytes).toBeLessThan(2);
    expect(got.rubin.perAlertBytes).toBeLessThan(2);
  }, 300_000);
});
