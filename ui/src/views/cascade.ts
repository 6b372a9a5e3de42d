/**
 * The cascade to the teacher, in the model view: what is sent, dropped and answered, the
 * teacher queue, and live student/teacher agreement with sent/s as charts over time. The
 * charts' points are the snapshots this page has seen (the daemon keeps no cascade history):
 * at most `CASCADE_POINTS_MAX`, oldest dropped.
 */
import type { Snapshot } from '../../../host/src/metrics/snapshot.js';
import type { ElementLookup } from '../dom.js';
import { formatCount, formatRate } from '../format.js';
import { createTimeChart, type TimeChart } from '../plots.js';
import { formatPercent } from '../units.js';
import { formatLatency } from './overview.js';

/** Snapshots kept for the charts (4 per second: 10 minutes). */
export const CASCADE_POINTS_MAX = 2400;

export interface CascadeView {
  showSnapshot(s: Snapshot): void;
}

export function createCascadeView(el: ElementLookup): CascadeView {
  const t: number[] = [];
  const recent: Array<number | null> = [];
  const total: Array<number | null> = [];
  const sentPerS: number[] = [];
  let agreementChart: TimeChart | null = null;
  let sentChart: TimeChart | null = null;
  return {
    showSnapshot(s) {
      const c = s.cascade ?? null;
      el('cascade-none').hidden = c !== null;
      el('cascade-body').hidden = c === null;
      if (c === null) return;
      el('cascade-teacher').textContent = c.teacher;
      el('cascade-cut').textContent = c.cutKind === 'margin' ? `margin < ${c.cut}` : `entropy > ${c.cut}`;
      el('cascade-sent').textContent = `${formatCount(c.sent)} (${formatRate(c.sentPerS)}/s)`;
      el('cascade-dropped').textContent = formatCount(c.dropped);
      el('cascade-queue').textContent = `${formatCount(c.queueDepth)} now, ${formatCount(c.queueDepthMax)} at most, of ${formatCount(c.queueFrames)}`;
      const decided = c.answered - c.failed;
      el('cascade-agreement').textContent = decided > 0 ? `${formatPercent(c.agreement)} of ${formatCount(decided)} answers` : '–';
      el('cascade-agreement-recent').textContent = `${formatPercent(c.agreementRecent)} over the last ${formatCount(c.windowS)} s`;
      el('cascade-latency').textContent = c.teacherLatencyUs.count > 0 ? `${formatLatency(c.teacherLatencyUs.p50)} p50, ${formatLatency(c.teacherLatencyUs.p99)} p99` : '–';
      el('cascade-decided').textContent = c.replace ? `teacher ${formatCount(c.decidedByTeacher)}, student ${formatCount(c.decidedByStudent)}` : 'the student (replace off)';
      t.push(s.atMs / 1000);
      // Before any answer there is no agreement to draw: a gap, not 0%.
      recent.push(decided > 0 ? c.agreementRecent * 100 : null);
      total.push(decided > 0 ? c.agreement * 100 : null);
      sentPerS.push(c.sentPerS);
      if (t.length > CASCADE_POINTS_MAX) for (const col of [t, recent, total, sentPerS]) col.shift();
      agreementChart ??= createTimeChart(el('cascade-agreement-chart'), {
        series: [
          { label: 'agreement, recent', stroke: '#1f5fa8' },
          { label: 'agreement, since start', stroke: '#8a8f98', dash: [4, 3] },
        ],
        y: { kind: 'plain', label: 'student = teacher (%)' },
        heightPx: 180,
      });
      sentChart ??= createTimeChart(el('cascade-sent-chart'), { series: [{ label: 'sent/s', stroke: '#b4461b' }], y: { kind: 'plain', label: 'frames sent per second' }, heightPx: 140 });
      agreementChart.setData(t, [recent, total]);
      sentChart.setData(t, [sentPerS]);
    },
  };
}
