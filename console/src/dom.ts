/**
 * Building the page without innerHTML (every text goes in as text), and the one place errors
 * are shown: the alert region at the top of the page.
 */
import { ApiError } from './api.js';

type Attrs = Record<string, string | boolean | number | ((e: Event) => void)>;
type Child = Node | string | null | undefined | false;

/** An element with attributes (`on…` functions become listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, '');
    else if (value !== false) el.setAttribute(name, String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) el.append(child);
  return el;
}

/** A labelled input: the label wraps its text and the field, so a click or a screen reader finds it. */
export function field(label: string, input: HTMLInputElement | HTMLSelectElement): HTMLLabelElement {
  return h('label', { class: 'field' }, h('span', {}, label), input);
}

/** Show `err` in words (an ApiError's message is the gateway's own); null clears. */
export function showError(err: unknown): void {
  const box = document.getElementById('error')!;
  if (err === null) {
    box.hidden = true;
    box.textContent = '';
    return;
  }
  box.textContent = err instanceof ApiError ? err.message : err instanceof Error ? err.message : 'Something went wrong';
  box.hidden = false;
}

/**
 * Run `action` for a form or a button: errors are shown, the control is disabled meanwhile, and
 * the alert is cleared on success.
 */
export async function attempt(control: HTMLButtonElement | null, action: () => Promise<void>): Promise<void> {
  if (control !== null) control.disabled = true;
  try {
    await action();
    showError(null);
  } catch (err) {
    showError(err);
  } finally {
    if (control !== null) control.disabled = false;
  }
}

/** A form whose submit (button or Enter) runs `action` through `attempt`. */
export function form(
  label: string,
  action: (f: HTMLFormElement) => Promise<void>,
  ...children: Child[]
): HTMLFormElement {
  const f: HTMLFormElement = h('form', { 'aria-label': label }, ...children);
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    void attempt(f.querySelector('button[type=submit]'), () => action(f));
  });
  return f;
}
