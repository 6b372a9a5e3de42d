import { describe, expect, it } from 'vitest';
import { fakeStream } from './progress.fixture.js';
import { createProgress, formatDuration, progressLine } from './progress.js';


describe('progress bar', () => {
  it('draws a bar with rate and time left on a terminal, redrawn in place, and erases it at the end', () => {
    const s = fakeStream(true);
    let t = 0;
    const p = createProgress({ label: 'replay', total: 1000, unit: 'frames', stream: s, nowMs: () => t, redrawMs: 100 });
    t = 2000;
    p.update(250);
    // 250 frames in 2 s: 125/s; 750 left at that rate take 6 s.
    expect(s.out[0]).toBe('\r' + 'replay [#####---------------]  25% 250/1000 frames 125/s 0:06 left' + '\x1b[K');
    t = 2050;
    p.update(260);
    expect(s.out).toHaveLength(1); // throttled
    t = 4000;
    p.update(1000);
    expect(s.out[1]).toContain('[####################] 100% 1000/1000 frames 250/s');
    expect(s.out[1]).not.toContain('left');
    p.end();
    expect(s.out.at(-1)).toBe('\r\x1b[K');
  });

  it('writes nothing when the stream is not a terminal', () => {
    const s = fakeStream(false);
    let t = 0;
    const p = createProgress({ label: 'record', total: 10, unit: 'frames', stream: s, nowMs: () => t });
    for (let i = 1; i <= 10; i++) {
      t += 1000;
      p.update(i);
    }
    p.end();
    expect(s.out).toEqual([]);
  });

  it('shows a count and rate without bar or time left when the total is unknown', () => {
    expect(progressLine('record', 30_000, null, 'frames', 2)).toBe('record 30000 frames 15.0k/s');
  });

  it('formats durations as m:ss and h:mm:ss', () => {
    expect(formatDuration(59.6)).toBe('1:00');
    expect(formatDuration(3725)).toBe('1:02:05');
  });
});
