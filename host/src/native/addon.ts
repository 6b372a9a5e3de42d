import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { monotonicClock, type Clock } from '../core/clock.js';

/**
 * The typed wrapper of the native addon (host/native), the only file allowed loose types.
 * Built by `make` (`node-gyp rebuild --nodedir=/usr` in host/native).
 */
interface NativeAddon {
  stamp(array: Float64Array, index: number): void;
  nowNs(): number;
}

const ADDON = 'hairtrigger_native.node';

/** The addon's path: from source (vitest) and from build/ (the compiled CLI). */
function addonPath(): string | null {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, '..', '..', 'native', 'build', 'Release', ADDON), resolve(here, '..', '..', '..', '..', 'host', 'native', 'build', 'Release', ADDON)];
  return candidates.find((p) => existsSync(p)) ?? null;
}

let loaded: NativeAddon | null | undefined;

/** Loads the addon once; null when it has not been built. */
export function nativeAddon(): NativeAddon | null {
  if (loaded === undefined) {
    const path = addonPath();
    loaded = path === null ? null : (createRequire(import.meta.url)(path) as NativeAddon);
  }
  return loaded;
}

/**
 * The clock the daemon runs on: CLOCK_MONOTONIC through the addon, whose `stamp` writes
 * into the slot's Float64Array without allocating. Null when the addon is not built.
 */
export function nativeClock(): Clock | null {
  const a = nativeAddon();
  if (a === null) return null;
  return { nowNs: () => a.nowNs(), stamp: (arr, i) => a.stamp(arr, i) };
}

/** The native clock when the addon is built, else the JavaScript one (which allocates). */
export function systemClock(): Clock {
  return nativeClock() ?? monotonicClock;
}
