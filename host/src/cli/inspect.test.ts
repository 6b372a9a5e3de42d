import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fakeStream } from './progress.fixture.js';
import { inspectPath } from './inspect.js';

const RECORDINGS = resolve(import.meta.dirname, '..', '..', '..', 'sim', 'recordings');


describe('inspect over a folder', () => {
  it('draws its progress bar on a terminal only, and lists every capture either way', () => {
    const tty = fakeStream(true);
    const onTty = inspectPath(RECORDINGS, tty);
    expect(tty.out.some((s) => /^\rinspect \[#+\] 100% 3\/3 captures/.test(s))).toBe(true);
    expect(tty.out.at(-1)).toBe('\r\x1b[K');
    const pipe = fakeStream(false);
    const onPipe = inspectPath(RECORDINGS, pipe);
    expect(pipe.out).toEqual([]);
    expect(onPipe.text).toBe(onTty.text);
    expect(onPipe.text.split('\n').filter((l) => l !== '')).toHaveLength(3);
  });

  it('lists a capture that is not one with its error and marks the result failed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ht-inspect-'));
    copyFileSync(join(RECORDINGS, 'cells-lymphocyte-1k.arrows'), join(dir, 'good.arrows'));
    writeFileSync(join(dir, 'bad.arrows'), 'not arrow');
    // Cut inside the first record batch: the schema survives, no frame does.
    writeFileSync(join(dir, 'cut.arrows'), readFileSync(join(RECORDINGS, 'cells-bccd-test.arrows')).subarray(0, 3000));
    const r = inspectPath(dir, fakeStream(false));
    expect(r.failed).toBe(true);
    expect(r.text).toMatch(/bad\.arrows: E_CAPTURE_FORMAT/);
    expect(r.text).toMatch(/cut\.arrows: cells-bccd, .* 0 frames, .*TRUNCATED: .*recovered 0 complete record batches/);
    expect(r.text).toMatch(/good\.arrows: cells-lymphocyte, \[48, 48, 1\] uint8, 1000 frames/);
  });
});

describe('inspect over a model folder', () => {
  it('describes a model whose frames have no fixed shape (the alerts light-curve grid)', () => {
    const r = inspectPath(resolve(import.meta.dirname, '..', '..', '..', 'models', 'zoo', 'alerts-transient'), fakeStream(false));
    expect(r.failed).toBe(false);
    expect(r.text).toMatch(/model alerts-transient, labels SN Ia\/SN II\/SN Ibc\/SLSN\/TDE\/AGN\/Periodic, input \[18, 100\] from frames of any length uint8/);
  });
});
