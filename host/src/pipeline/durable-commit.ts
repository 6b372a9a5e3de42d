import type { SinkError } from '../core/errors.js';
import type { DecisionLog } from '../sinks/decision-log.js';
import type { TriggerLog } from '../sinks/trigger-log.js';
import type { FrameRouter } from '../trigger/routers.js';
import type { Source } from '../sources/source.js';

/**
 * Acknowledges a durable source's frames once their decisions are durably written: the
 * decision log synced to disk (fdatasync), every sink flushed (files handed to the OS,
 * NATS publishes acknowledged by JetStream) and the router's topics written (files on disk,
 * topics published to JetStream). Runs after the daemon's flush loop has drained
 * the trigger ring: every frame the source delivered before that drain has its trigger record
 * in the sinks and its decision line written, so `delivered`, read before the drain, is the
 * mark. One commit at a time (a slow one makes the next flush skip, and its frames are
 * acknowledged by the next: acks are cumulative). A failure acknowledges nothing; those
 * messages are redelivered after the source's ack wait (at least once).
 */
export class DurableCommit {
  private inFlight: Promise<void> | null = null;
  /** Commits done, and how many skipped because one was still in flight or the ring was not drained. */
  commits = 0;
  skipped = 0;

  constructor(
    private readonly source: Source & { commit(delivered: number): Promise<void> },
    private readonly log: TriggerLog,
    private readonly decisions: () => DecisionLog | null,
    private readonly router: () => FrameRouter | null,
    private readonly onError: (err: SinkError | Error) => void,
  ) {}

  /** After a flush: `drained` says whether the trigger log emptied the ring; `delivered` is the source's count read before it. */
  afterFlush(delivered: number, drained: boolean): void {
    if (this.inFlight !== null || !drained) {
      this.skipped++;
      return;
    }
    this.inFlight = this.commit(delivered).finally(() => (this.inFlight = null));
  }

  /** The last commit at stop: waits for one in flight, then acknowledges everything decided. */
  async final(delivered: number): Promise<void> {
    await this.inFlight;
    await this.commit(delivered);
  }

  private async commit(delivered: number): Promise<void> {
    try {
      this.decisions()?.sync();
      await Promise.all([this.log.sinksFlushed(), this.router()?.flushed?.()]);
      await this.source.commit(delivered);
      this.commits++;
    } catch (err) {
      this.onError(err as Error);
    }
  }
}
