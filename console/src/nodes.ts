/**
 * The nodes panel (docs/COMPUTE.md "The HTTP API"): create, then per node its status and the
 * actions its status allows (start, stop, resize, delete), its output, and its static URL
 * through the proxy. The list is read again every two seconds while the panel is shown; it
 * holds the user's nodes and those other users shared with them (docs/API-V1.md "Permissions"),
 * each of the latter marked with its owner.
 */
import { api, type Json } from './api.js';
import { attempt, field, form, h, showError } from './dom.js';

const SIZES = ['small', 'medium', 'large'];
const IMAGES = ['http', 'command'];

function select(name: string, values: string[], chosen?: string): HTMLSelectElement {
  return h('select', { name }, ...values.map((v) => h('option', { value: v, selected: v === chosen }, v)));
}

/** What a row's buttons do: a call then a refresh, and showing a node's output. */
interface RowActions {
  act(b: HTMLButtonElement, method: string, path: string, body?: unknown): void;
  output(b: HTMLButtonElement, id: string, name: string): void;
}

const text = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');

/** One node's row: name (and its owner, when it is another user's), image, status, and its actions. */
function row(n: Json, actions: RowActions, username: string): HTMLTableRowElement {
  const id = String(n.id);
  const name = String(n.name);
  const status = text(n.status) + (text(n.task) === '' ? '' : ` (${text(n.task)})`);
  const path = `/v1/nodes/${id}`;
  const button = (label: string, onclick: (b: HTMLButtonElement) => void): HTMLButtonElement => {
    const b = h('button', { type: 'button', 'aria-label': `${label} ${name}` }, label);
    b.addEventListener('click', () => onclick(b));
    return b;
  };
  const size = select('size', SIZES, String(n.size));
  size.setAttribute('aria-label', `Size of ${name}`);
  const url = typeof n.url === 'string' && n.url !== '' ? n.url : undefined;
  const tr = h(
    'tr',
    { 'data-id': id, 'data-status': String(n.status) },
    h('th', { scope: 'row' }, name, text(n.owner) !== username ? h('small', {}, ` (${text(n.owner)}'s)`) : null),
    h('td', {}, String(n.image)),
    h('td', { class: 'status' }, status, text(n.reason) !== '' ? h('small', {}, ` ${text(n.reason)}`) : null),
    h(
      'td',
      { class: 'actions' },
      button('Start', (b) => actions.act(b, 'PATCH', path, { action: 'start' })),
      button('Stop', (b) => actions.act(b, 'PATCH', path, { action: 'stop' })),
      size,
      button('Resize', (b) => actions.act(b, 'PATCH', path, { size: size.value })),
      button('Output', (b) => actions.output(b, id, name)),
      button('Delete', (b) => actions.act(b, 'DELETE', path)),
      url !== undefined ? h('a', { href: url, target: '_blank', rel: 'noopener' }, 'Open') : null,
    ),
  );
  return tr;
}

export function nodesPanel(username: string): { el: HTMLElement; stop(): void } {
  const table = h('tbody', {});
  const output = h('pre', { class: 'output', 'aria-label': 'Node output', tabindex: 0 });
  const outputTitle = h('h3', {}, 'Output');
  /** The node whose output is shown, and the table's rows by node id (kept across refreshes). */
  let shown: string | undefined;
  const rows = new Map<string, HTMLTableRowElement>();

  const refresh = async (): Promise<void> => {
    const body = await api('GET', '/v1/nodes');
    const nodes = (body?.data as Json[]) ?? [];
    const ids = new Set(nodes.map((n) => String(n.id)));
    for (const [id, tr] of rows)
      if (!ids.has(id)) {
        tr.remove();
        rows.delete(id);
      }
    for (const n of nodes) {
      const id = String(n.id);
      const fresh = row(n, actions, username);
      const old = rows.get(id);
      // Keep a row whose control has the focus, so that keyboard users do not lose their place.
      if (old !== undefined && old.contains(document.activeElement) && old.dataset.status === fresh.dataset.status)
        continue;
      if (old === undefined) table.append(fresh);
      else old.replaceWith(fresh);
      rows.set(id, fresh);
    }
    if (shown !== undefined && ids.has(shown)) await showOutput(shown);
  };

  const actions: RowActions = {
    act: (b, method, path, body) =>
      void attempt(b, async () => {
        await api(method, path, body);
        await refresh();
      }),
    output: (b, id, name) => {
      shown = id;
      outputTitle.textContent = `Output of ${name}`;
      void attempt(b, () => showOutput(id));
    },
  };

  const showOutput = async (id: string): Promise<void> => {
    const body = await api('GET', `/v1/nodes/${id}/output`);
    const lines = (body?.lines as string[]) ?? [];
    output.textContent = lines.length === 0 ? '(no output yet)' : lines.join('\n');
  };

  const nameInput = h('input', { name: 'name', required: true, autocomplete: 'off', maxlength: 63 });
  const image = select('image', IMAGES, 'http');
  const size = select('size', SIZES, 'small');
  const create = form(
    'Create a node',
    async () => {
      await api('POST', '/v1/nodes', { name: nameInput.value.trim(), image: image.value, size: size.value });
      nameInput.value = '';
      await refresh();
    },
    field('Name', nameInput),
    field('Image', image),
    field('Size', size),
    h('button', { type: 'submit' }, 'Create node'),
  );
  const el = h(
    'div',
    { class: 'nodes' },
    h('h2', {}, 'Nodes'),
    create,
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        {},
        h('caption', {}, 'Your nodes, and those shared with you'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'Name'),
            h('th', { scope: 'col' }, 'Image'),
            h('th', { scope: 'col' }, 'Status'),
            h('th', { scope: 'col' }, 'Actions'),
          ),
        ),
        table,
      ),
    ),
    outputTitle,
    output,
  );
  const timer = setInterval(() => void refresh().catch(showError), 2000);
  void refresh().catch(showError);
  return { el, stop: () => clearInterval(timer) };
}
