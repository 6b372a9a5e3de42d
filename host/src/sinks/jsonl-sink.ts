import type { TriggerEvent } from '../metrics/snapshot.js';
import { FileSink, type FileSinkOptions } from './file-sink.js';
import type { SinkContext } from './sink.js';

/**
 * Trigger records as JSON lines, one `TriggerEvent` per line with its field names, in the
 * run's rotating files (a part ends after a whole line; the first line of every part is a
 * record, so any part parses on its own).
 */
export class JsonlSink extends FileSink {
  constructor(opts: FileSinkOptions, ctx: SinkContext) {
    super('jsonl', opts, ctx);
  }

  protected encode(events: readonly TriggerEvent[]): void {
    let text = '';
    let lines = 0;
    let textBytes = 0;
    for (const e of events) {
      const line = JSON.stringify(e) + '\n';
      const lineBytes = Buffer.byteLength(line);
      if (!this.files.fits(textBytes + lineBytes)) {
        // The part is full: what is gathered goes to it, and this line starts the next part.
        if (lines > 0) this.files.current.append(Buffer.from(text), lines);
        if (!this.files.fits(lineBytes)) this.files.next();
        text = '';
        lines = 0;
        textBytes = 0;
      }
      text += line;
      lines++;
      textBytes += lineBytes;
    }
    if (lines > 0) this.files.current.append(Buffer.from(text), lines);
  }

  protected finish(): void {}
}

/** Factory for the registry. */
export function createJsonlSink(opts: FileSinkOptions, ctx: SinkContext): JsonlSink {
  return new JsonlSink(opts, ctx);
}
