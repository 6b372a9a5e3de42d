import { closeSync, openSync, readSync } from 'node:fs';
import { extname } from 'node:path';
import { readWavInfo } from '../modalities/audio/wav.js';

/** What `hairtrigger inspect` found about one WAV file (its JSON with --json). */
export interface WavSummary {
  path: string;
  kind: 'wav';
  /** `pcm` or `float`, and the fmt chunk's tag (1, 3, or 0xfffe for WAVE_FORMAT_EXTENSIBLE). */
  format: string;
  formatTag: number;
  rateHz: number;
  channels: number;
  bits: number;
  /** Sample frames (one sample of every channel) and their duration at the file's rate. */
  frames: number;
  durationS: number;
  dataBytes: number;
}

/** Whether `path` is a WAV file: by its extension, else (`sniff`) by its RIFF/WAVE magic. */
export function isWavFile(path: string, sniff: boolean): boolean {
  if (extname(path).toLowerCase() === '.wav') return true;
  if (!sniff) return false;
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(12);
    const n = readSync(fd, b, 0, 12, 0);
    return n === 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WAVE';
  } finally {
    closeSync(fd);
  }
}

/** Summarises one WAV file from its checked header; throws its WavError when it lies. */
export function summariseWav(path: string): WavSummary {
  const w = readWavInfo(path);
  return { path, kind: 'wav', format: w.format, formatTag: w.formatTag, rateHz: w.sampleRateHz, channels: w.channels, bits: w.bitsPerSample, frames: w.frames, durationS: w.durationS, dataBytes: w.dataBytes };
}

/** One line of text per WAV file. */
export function formatWavSummary(s: WavSummary): string {
  const tag = s.formatTag === 0xfffe ? ' (extensible)' : '';
  return `${s.path}: wav, ${s.rateHz} Hz, ${s.channels} channel${s.channels === 1 ? '' : 's'}, ${s.bits}-bit ${s.format}${tag}, ${s.frames} frames, ${s.durationS.toFixed(3)} s\n`;
}
