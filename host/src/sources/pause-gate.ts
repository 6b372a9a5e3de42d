import type { FrameSlot } from '../core/frame.js';

/**
 * Pause of a live source (socket, serial, websocket ingest): the sensor keeps sending and the
 * daemon cannot halt it, so frames arriving while paused are dropped before the pipeline and
 * counted (`droppedByPause`). A paced source halts its own clock instead (`Source.pacing`),
 * so nothing arrives. `push` is bound once: the hot path reads one boolean per frame and
 * allocates nothing.
 */
export class PauseGate {
  paused = false;
  /** Frames that arrived while paused and were never decided. */
  droppedByPause = 0;

  constructor(private readonly next: (slot: FrameSlot) => void) {}

  readonly push = (slot: FrameSlot): void => {
    if (this.paused) {
      this.droppedByPause++;
      return;
    }
    this.next(slot);
  };
}
