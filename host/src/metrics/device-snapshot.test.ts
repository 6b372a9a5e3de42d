import { describe, expect, it } from 'vitest';
import type { FpgaBackend } from '../backends/fpga.js';
import type { FpgaDeviceStats } from '../native/addon.js';
import { DeviceReader, deviceSnapshot } from './device-snapshot.js';

const ID = { path: '/dev/shm/x', modelSha256: 'abcdef0123456789'.repeat(4), clockKhz: 200_000, latencyCycles: 35 };
const stats = (jobs: number): FpgaDeviceStats => ({
  jobs, timeouts: 1, resets: 2, corrupt: 3, faulted: true, faultedFast: 6, reprobes: 7, recoveries: 8, waitNsLast: 10, waitNsMean: 11, waitNsMin: 9, waitNsMax: 12, fifoOverflows: 4, fifoPending: 5,
});

describe('deviceSnapshot', () => {
  it('shows the hash prefix, the modelled time in us and every driver counter', () => {
    expect(deviceSnapshot(ID, stats(7))).toEqual({
      path: '/dev/shm/x', modelHash: 'abcdef012345', clockKhz: 200_000, latencyCycles: 35, modelledUs: 0.175,
      jobs: 7, timeouts: 1, resets: 2, corrupt: 3, faulted: true, faultedFast: 6, reprobes: 7, waitNsLast: 10, waitNsMean: 11, waitNsMin: 9, waitNsMax: 12, fifoOverflows: 4, fifoPending: 5,
    });
    // 10 kHz (the emulator's slowed clock in tests): 35 cycles are 3.5 ms.
    expect(deviceSnapshot({ ...ID, clockKhz: 10 }, stats(0)).modelledUs).toBe(3500);
    expect(deviceSnapshot({ ...ID, clockKhz: 0 }, stats(0)).modelledUs).toBe(0);
  });

  it('reads the driver at each call until frozen, then keeps the last reading', () => {
    let jobs = 0;
    let closed = false;
    const backend = {
      deviceIdentity: () => ID,
      deviceStats: () => {
        if (closed) throw new Error('use after close');
        return stats(++jobs);
      },
    } as unknown as FpgaBackend;
    const reader = new DeviceReader(backend);
    expect(reader.read().jobs).toBe(1);
    expect(reader.read().jobs).toBe(2);
    reader.freeze();
    closed = true;
    expect(reader.read().jobs).toBe(3);
    expect(reader.read().jobs).toBe(3);
  });
});
