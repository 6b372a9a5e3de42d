import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WavError } from '../core/errors.js';
import { inspectPaths } from './inspect.js';
import type { WavSummary } from './inspect-wav.js';
import { fakeStream } from './progress.fixture.js';

const AUDIO = resolve(import.meta.dirname, '..', '..', '..', '..', 'shared', 'data', 'audio');
const MARVIN = join(AUDIO, 'mlperf-tiny-wakeword', 'marvin_617de221_0.wav');
const SCHEMAS = {};

/** What sox's own `soxi` says of a file: rate, channels, bits, sample frames, duration. */
function soxi(path: string) {
  const q = (flag: string) => execFileSync('soxi', [flag, path]).toString().trim();
  return { rateHz: Number(q('-r')), channels: Number(q('-c')), bits: Number(q('-b')), frames: Number(q('-s')), durationS: Number(q('-D')) };
}

describe('hairtrigger inspect over WAV files', () => {
  it('describes a real file (and the same bytes under another name, by its magic) as soxi does', () => {
    const r = inspectPaths([MARVIN], SCHEMAS, fakeStream(false));
    expect(r.status).toBe(0);
    const s = JSON.parse(r.json) as WavSummary;
    expect(s).toMatchObject({ kind: 'wav', format: 'pcm', formatTag: 1, ...soxi(MARVIN) });
    expect(r.text).toBe(`${MARVIN}: wav, 16000 Hz, 2 channels, 16-bit pcm, 16000 frames, 1.000 s\n`);
    const dir = mkdtempSync(join(tmpdir(), 'ht-inspect-wav-'));
    copyFileSync(MARVIN, join(dir, 'recording'));
    expect(JSON.parse(inspectPaths([join(dir, 'recording')], SCHEMAS, fakeStream(false)).json)).toMatchObject(soxi(MARVIN));
  });

  it('lists every WAV file of a folder (each format as soxi reads it) and a hostile one with its typed error at its byte offset', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ht-inspect-wav-'));
    const made: [string, string[]][] = [['a-u8.wav', ['-e', 'unsigned', '-b', '8', '-r', '8000']], ['b-s24.wav', ['-b', '24', '-r', '44100']], ['c-f32.wav', ['-e', 'floating-point', '-b', '32', '-r', '48000']]];
    for (const [name, args] of made) execFileSync('sox', [MARVIN, '-D', ...args, join(dir, name)]);
    const bad = Buffer.from(readFileSync(MARVIN));
    bad.writeUInt16LE(3, 32); // block align 3 for 2 channels of 16 bits
    writeFileSync(join(dir, 'd-bad.wav'), bad);
    const r = inspectPaths([dir], SCHEMAS, fakeStream(false));
    expect(r.status).toBe(1);
    const out = JSON.parse(r.json) as (WavSummary | { path: string; error: string })[];
    expect(out).toHaveLength(4);
    made.forEach(([name], i) => expect(out[i]).toMatchObject({ path: join(dir, name), kind: 'wav', ...soxi(join(dir, name)) }));
    expect(out[1]).toMatchObject({ formatTag: 0xfffe, bits: 24 });
    expect(out[2]).toMatchObject({ format: 'float' });
    expect((out[3] as { error: string }).error).toMatch(/^E_WAV at .*d-bad\.wav byte 32: block align 3 is not 2 channels x 2 bytes/);
  });

  it('a named hostile file throws its WavError (the CLI prints it and exits 2)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ht-inspect-wav-'));
    writeFileSync(join(dir, 'cut.wav'), readFileSync(MARVIN).subarray(0, 30));
    expect(() => inspectPaths([join(dir, 'cut.wav')], SCHEMAS, fakeStream(false))).toThrow(WavError);
    expect(() => inspectPaths([join(dir, 'cut.wav')], SCHEMAS, fakeStream(false))).toThrow(/cut\.wav byte 16: "fmt " chunk of 16 bytes runs past the end of the file \(10 bytes follow its header\)/);
  });

  it('reports WAV files beside alert files, one JSON line each', () => {
    const alerts = resolve(AUDIO, '..', 'alerts', 'ztf-3.2-2018-12', '697252845815015007.avro');
    const r = inspectPaths([alerts, MARVIN], { rubin: join(AUDIO, '..', 'alerts', 'rubin-schemas'), ztf: join(AUDIO, '..', 'alerts', 'ztf-avro-alert', 'schema') }, fakeStream(false));
    expect(r.status).toBe(0);
    const lines = r.json.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[1]).toMatchObject({ file: MARVIN, kind: 'wav', rateHz: 16000, channels: 2 });
  });
});
