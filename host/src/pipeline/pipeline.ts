import { Observable, type Subscriber, type Subscription } from 'rxjs';
import { assert } from '../core/assert.js';
import type { Clock } from '../core/clock.js';
import { STAMP, type FrameSlot } from '../core/frame.js';
import type { PipelineMetrics } from '../metrics/pipeline-metrics.js';
import { stage, type FaultSink, type FrameStage } from './stage.js';

/** The five stages of the hot path, in order. */
export interface PipelineStages {
  decode: FrameStage;
  preprocess: FrameStage;
  infer: FrameStage;
  policy: FrameStage;
  emit: FrameStage;
}

/** Where sources hand frames in: `push` runs the whole hot path before it returns. */
export interface FrameInput {
  push(slot: FrameSlot): void;
}

/**
 * Composes source -> decode -> preprocess -> infer -> policy -> emit with RxJS. Every
 * operator is synchronous, so `push` returns only after the trigger write and the metrics
 * update; nothing on the way awaits or allocates.
 */
export function buildPipeline(
  stages: PipelineStages,
  clock: Clock,
  metrics: PipelineMetrics,
  faults: FaultSink,
  /** Called once with a programmer error (a non-operating error in a stage); the stream is
   * closed by then. The composition root logs it and exits the process. */
  onBug: (err: unknown) => void,
): FrameInput & { subscription: Subscription; complete(): void } {
  // The head of the chain is the subscriber of a plain Observable, not a Subject: rxjs 7's
  // Subject.next wraps every call in a closure (34 bytes a frame); Subscriber.next does not.
  let head: Subscriber<FrameSlot> | null = null;
  const input = new Observable<FrameSlot>((subscriber) => {
    head = subscriber;
  });
  const subscription = input
    .pipe(
      stage(stages.decode, STAMP.decode, clock, faults),
      stage(stages.preprocess, STAMP.preprocess, clock, faults),
      stage(stages.infer, STAMP.infer, clock, faults),
      stage(stages.policy, STAMP.policy, clock, faults),
      stage(stages.emit, STAMP.emit, clock, faults),
    )
    .subscribe({ next: (slot) => metrics.recordFrame(slot), error: onBug });
  assert(head !== null, 'the pipeline subscribed to its input');
  const entry: Subscriber<FrameSlot> = head;
  return {
    push: (slot) => entry.next(slot),
    subscription,
    complete: () => entry.complete(),
  };
}
