import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, ModelError } from '../core/errors.js';
import { createModelPreprocessor } from '../preprocess/model-input.js';
import { readModelCard } from './card.js';

/** A card folder holding `preprocessing` and the input shape it states. */
function cardDir(preprocessing: Record<string, unknown>, shape: number[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'ht-card-'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'card.json'), JSON.stringify({ task: 't', labels: ['a', 'b'], input: { shape, dtype: 'float32' }, preprocessing, student: { params: 10 } }));
  return dir;
}

// A modality's own kind (the alerts `lightcurve` grid): frames of any length, decoded packets in.
const LIGHTCURVE = { kind: 'lightcurve', frame: { shape: null, dtype: 'uint8' }, bands: ['g', 'r'], steps: 4, stepDays: 1, channels: ['flux', 'detected', 'upperLimit'], upperLimitMax: 4, input: { shape: [6, 4] } };

describe('model cards with a modality preprocessing kind', () => {
  it('reads a card whose preprocessing is a registered stream kind, frames of any length', () => {
    const card = readModelCard(cardDir(LIGHTCURVE, [6, 4]));
    expect(card.inputShape).toEqual([6, 4]);
    expect(card.preprocessing.frame.shape).toBeNull();
  });

  it('still checks the input shape against the card and refuses a kind without one', () => {
    expect(() => readModelCard(cardDir(LIGHTCURVE, [6, 5]))).toThrow(ModelError);
    expect(() => readModelCard(cardDir({ kind: 'lightcurve', frame: { shape: null, dtype: 'uint8' } }, [6, 4]))).toThrow(ModelError);
  });

  it('has no raw-frame preprocessor for it: a ConfigError says the daemon runs it', () => {
    expect(() => createModelPreprocessor(LIGHTCURVE)).toThrow(ConfigError);
    expect(() => createModelPreprocessor(LIGHTCURVE)).toThrow(/decoded packets/);
  });
});
