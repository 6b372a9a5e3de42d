import { frameDetails, type FrameDetail } from '../../codecs/frame-detail.js';
import { FrameShapeError } from '../../core/errors.js';
import type { TriggerView } from '../../server/api-types.js';
import { featureWidth, type FrontEndSpec } from './mfcc.js';

/**
 * The keywords' trigger view: the window's features exactly as the model saw them (the
 * model input the `mfcc` or `logmel` front end wrote: `frames` rows of `bins`, oldest
 * first), with the window's end in the stream (the record's `streamMs`).
 */
export function spectrogramDetail(spec: FrontEndSpec): FrameDetail {
  const frames = spec.frames;
  const bins = featureWidth(spec);
  const feature = spec.kind === 'mfcc' ? 'MFCC' : 'log-mel';
  return {
    keeps: 'input',
    sizeMax: frames * bins,
    view(kept, _context, event): TriggerView {
      if (kept.length !== frames * bins) throw new FrameShapeError(`stream ${event.stream} window seq ${event.seq}`, `kept ${kept.length} features of ${frames} x ${bins}`);
      return { kind: 'spectrogram', streamMs: event.streamMs, frames, bins, values: Array.from(kept), feature };
    },
  };
}

frameDetails.register({
  name: 'keyword features',
  applies: (ctx) => ctx.preprocessing.kind === 'mfcc' || ctx.preprocessing.kind === 'logmel',
  create: (ctx) => spectrogramDetail(ctx.preprocessing as unknown as FrontEndSpec),
});
