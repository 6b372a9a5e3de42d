import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

/** Writes int16 samples as a mono 16-bit WAV at `rateHz` (with sox, the tool the project makes audio with); a `.raw` copy stays beside it. */
export function writeWav(path: string, samples: Int16Array, rateHz = 16_000): void {
  const raw = `${path}.raw`;
  writeFileSync(raw, new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
  execFileSync('sox', ['-t', 'raw', '-r', String(rateHz), '-e', 'signed', '-b', '16', '-c', '1', raw, path]);
}
