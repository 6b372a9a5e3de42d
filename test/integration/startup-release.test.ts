/**
 * A daemon whose start-up fails after the backend is open gives the backend back (issue 9,
 * defect 6: "a failed start-up releases what it took"). The sim backend is wrapped so that
 * its close is seen; everything else is the real thing.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { Backend } from '../../host/src/backends/backend.js';
import { CaptureFormatError, SinkError } from '../../host/src/core/errors.js';
import { createDaemon } from '../../host/src/daemon.js';
import { systemClock } from '../../host/src/native/addon.js';
import { realTimers } from '../../host/src/sources/source.js';
import { REPO, replayConfig, tempDir, ZOO } from '../support/fixtures.js';

const opened: Array<{ closed: boolean }> = [];

vi.mock('../../host/src/backends/sim.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../host/src/backends/sim.js')>();
  return {
    ...real,
    loadSimBackend: (...args: Parameters<typeof real.loadSimBackend>): Backend => {
      const b = real.loadSimBackend(...args);
      const seen = { closed: false };
      opened.push(seen);
      return { info: () => b.info(), predict: (x, y) => b.predict(x, y), close: async () => { seen.closed = true; await b.close(); } };
    },
  };
});

const deps = { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: REPO, onBug: (e: unknown) => { throw e; } };
const CAPTURE = 'sim/recordings/cells-bccd-test.arrows';

describe('a start-up that fails after the backend is open', () => {
  it('closes the backend when a sink cannot be opened', async () => {
    const dir = tempDir('release');
    writeFileSync(join(dir, 'file'), 'not a folder');
    opened.length = 0;
    const cfg = replayConfig(join(ZOO, 'cells-bccd'), CAPTURE, { backend: 'sim', trigger: { targets: ['WBC'] }, sinks: { jsonl: join(dir, 'file', 't.jsonl') } });
    await expect(createDaemon(cfg, deps)).rejects.toThrow(SinkError);
    expect(opened).toEqual([{ closed: true }]);
  });

  it('closes the backend when the capture cannot be read', async () => {
    const dir = tempDir('release');
    const junk = join(dir, 'junk.arrows');
    writeFileSync(junk, 'not arrow');
    opened.length = 0;
    await expect(createDaemon(replayConfig(join(ZOO, 'cells-bccd'), junk, { backend: 'sim', trigger: { targets: ['WBC'] } }), deps)).rejects.toThrow(CaptureFormatError);
    expect(opened).toEqual([{ closed: true }]);
  });
});
