/**
 * The `device` part of a snapshot: an fpga backend's identity and the driver's counters, read
 * when a snapshot is taken (never per frame).
 */
import type { FpgaBackend, FpgaDeviceIdentity } from '../backends/fpga.js';
import type { FpgaDeviceStats } from '../native/addon.js';
import type { DeviceSnapshot } from './snapshot.js';

/** Hex digits of the model hash a snapshot shows: enough to tell builds apart at a glance. */
export const MODEL_HASH_SHOWN = 12;

/** Builds the snapshot's `device` object. Pure; `clockKhz` 0 (a device that reports none) gives `modelledUs` 0. */
export function deviceSnapshot(id: FpgaDeviceIdentity, stats: FpgaDeviceStats): DeviceSnapshot {
  return {
    path: id.path,
    modelHash: id.modelSha256.slice(0, MODEL_HASH_SHOWN),
    clockKhz: id.clockKhz,
    latencyCycles: id.latencyCycles,
    // cycles / kHz = ms; * 1000 = us.
    modelledUs: id.clockKhz > 0 ? (id.latencyCycles * 1000) / id.clockKhz : 0,
    jobs: stats.jobs,
    timeouts: stats.timeouts,
    resets: stats.resets,
    corrupt: stats.corrupt,
    faulted: stats.faulted,
    faultedFast: stats.faultedFast,
    reprobes: stats.reprobes,
    waitNsLast: stats.waitNsLast,
    waitNsMean: stats.waitNsMean,
    waitNsMin: stats.waitNsMin,
    waitNsMax: stats.waitNsMax,
    fifoOverflows: stats.fifoOverflows,
    fifoPending: stats.fifoPending,
  };
}

/**
 * Reads an fpga backend's device for snapshots. `read()` queries the driver; after `freeze()`
 * (called by the daemon just before it closes the backend) it returns that last reading, so a
 * snapshot taken after stop still shows the device without touching a closed mapping.
 */
export class DeviceReader {
  private frozen: DeviceSnapshot | null = null;

  constructor(private readonly backend: FpgaBackend) {}

  read(): DeviceSnapshot {
    return this.frozen ?? deviceSnapshot(this.backend.deviceIdentity(), this.backend.deviceStats());
  }

  freeze(): void {
    this.frozen ??= this.read();
  }
}
