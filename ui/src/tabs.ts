/**
 * The views as tabs, after the WAI-ARIA tabs pattern: buttons with role=tab and
 * aria-selected in a role=tablist, one tab stop (roving tabindex), Left/Right/Home/End move
 * and activate, and the URL fragment keeps the view (`#latency`, or `#latency&p=cells` with the
 * pipeline the page follows) across reloads.
 */

import { fragmentOf, parseFragment } from './pipeline.js';

export const VIEWS = ['overview', 'latency', 'triggers', 'model', 'devices'] as const;
export type ViewName = (typeof VIEWS)[number];

export interface Tabs {
  current(): ViewName;
  show(view: ViewName, focus?: boolean): void;
}

/** Binds the `[role=tab]` buttons in `tablist`; each controls the panel named by its
 * aria-controls. `onShow` runs after a view is shown (to draw what was hidden). */
export function createTabs(tablist: HTMLElement, initial: string, onShow: (view: ViewName) => void): Tabs {
  const doc = tablist.ownerDocument;
  const buttons = VIEWS.map((view) => {
    const button = tablist.querySelector<HTMLButtonElement>(`[role="tab"][data-view="${view}"]`);
    if (button === null) throw new Error(`index.html lacks the tab for ${view}`);
    return button;
  });
  const initialView = parseFragment(initial).view;
  let current: ViewName = isView(initialView) ? initialView : 'overview';

  function show(view: ViewName, focus = false): void {
    current = view;
    buttons.forEach((button, i) => {
      const selected = VIEWS[i] === view;
      button.setAttribute('aria-selected', String(selected));
      button.tabIndex = selected ? 0 : -1;
      const panel = doc.getElementById(button.getAttribute('aria-controls') ?? '');
      if (panel !== null) panel.hidden = !selected;
    });
    if (focus) buttons[VIEWS.indexOf(view)].focus();
    // The fragment keeps the pipeline the page follows beside the view (pipeline.ts).
    const hash = `#${fragmentOf(view, parseFragment(doc.defaultView?.location.hash ?? '').pipeline)}`;
    if (doc.defaultView !== null && doc.defaultView.location.hash !== hash) doc.defaultView.history.replaceState(null, '', hash);
    onShow(view);
  }

  buttons.forEach((button, i) => button.addEventListener('click', () => show(VIEWS[i])));
  tablist.addEventListener('keydown', (event) => {
    const at = VIEWS.indexOf(current);
    const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: VIEWS.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    show(VIEWS[(next + VIEWS.length) % VIEWS.length], true);
  });
  doc.defaultView?.addEventListener('hashchange', () => {
    const view = parseFragment(doc.defaultView?.location.hash ?? '').view;
    if (isView(view) && view !== current) show(view);
  });
  show(current);
  return { current: () => current, show };
}

function isView(name: string): name is ViewName {
  return (VIEWS as readonly string[]).includes(name);
}
