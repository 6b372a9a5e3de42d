/**
 * Small DOM helpers shared by the views. Every value goes in through `textContent`, never as
 * HTML: labels, model names and error messages come from config files and sensors and must
 * not become markup.
 */

/** Looks up an element by its data-testid (cached); a missing one is a bug in index.html. */
export type ElementLookup = (testId: string) => HTMLElement;

export function elementLookup(doc: Document): ElementLookup {
  const cache = new Map<string, HTMLElement>();
  return (testId) => {
    const found = cache.get(testId) ?? doc.querySelector<HTMLElement>(`[data-testid="${testId}"]`);
    if (found === null) throw new Error(`index.html lacks data-testid="${testId}"`);
    cache.set(testId, found);
    return found;
  };
}

/** Replaces the rows of `tbody` (or a table) with one row per entry; a cell given as
 * `{ th: text }` becomes a row header. */
export function setRows(tbody: HTMLElement, rows: ReadonlyArray<ReadonlyArray<string | { th: string }>>): HTMLTableRowElement[] {
  const doc = tbody.ownerDocument;
  const trs = rows.map((cells) => {
    const tr = doc.createElement('tr');
    for (const cell of cells) {
      const isHeader = typeof cell !== 'string';
      const td = doc.createElement(isHeader ? 'th' : 'td');
      if (isHeader) td.setAttribute('scope', 'row');
      td.textContent = isHeader ? cell.th : cell;
      tr.append(td);
    }
    return tr;
  });
  tbody.replaceChildren(...trs);
  return trs;
}

/** A local time of day, "14:03:07", from wall-clock milliseconds. */
export function timeOfDay(atMs: number): string {
  return new Date(atMs).toLocaleTimeString('en-GB');
}
