/**
 * The pipelines of a daemon that runs several (`GET /api/pipelines`): the selector in the
 * header (a native `<select>`: keyboard and screen readers work as everywhere) and the table
 * on the overview. With one pipeline both stay hidden and the page looks as it always did.
 */
import type { PipelineSummary } from '../../../host/src/server/api-types.js';
import { setRows, type ElementLookup } from '../dom.js';
import { formatRate } from '../format.js';
import { chosenPipeline, switchPipeline } from '../pipeline.js';

export interface PipelinesView {
  show(list: readonly PipelineSummary[]): void;
}

/** Binds the selector: choosing another pipeline switches the page to it (pipeline.ts). */
export function createPipelinesView(el: ElementLookup, win: Window): PipelinesView {
  const select = el('pipeline-select') as HTMLSelectElement;
  select.addEventListener('change', () => switchPipeline(win, select.value === first(select) ? null : select.value));
  return {
    show(list) {
      const several = list.length > 1;
      el('pipeline-choice').hidden = !several;
      el('pipelines-panel').hidden = !several;
      if (!several) return;
      const chosen = chosenPipeline(win.location);
      // A fragment naming a pipeline this daemon does not run (an old link): follow the first.
      if (chosen !== null && !list.some((p) => p.name === chosen)) return switchPipeline(win, null);
      showOptions(select, list, chosen ?? list[0]!.name);
      setRows(el('pipelines'), list.map((p) => [{ th: p.name }, p.source, p.model, formatRate(p.fps), formatRate(p.triggersPerS), p.health ?? '–']));
    },
  };
}

/** The options, rebuilt only when the names change (so an open list is not reset by a poll). */
function showOptions(select: HTMLSelectElement, list: readonly PipelineSummary[], chosen: string): void {
  const names = list.map((p) => p.name);
  if ([...select.options].map((o) => o.value).join('\n') !== names.join('\n')) {
    select.replaceChildren(...names.map((name) => new Option(name, name)));
  }
  select.value = chosen;
}

function first(select: HTMLSelectElement): string {
  return select.options[0]?.value ?? '';
}
