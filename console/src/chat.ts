/**
 * The channels panel: the channel list, creating one, and one channel open at a time: its
 * retained messages, then the new ones live from the message stream, and a form to post.
 */
import { api, follow, type Json } from './api.js';
import { field, form, h, showError } from './dom.js';

interface Message {
  messageid: number;
  username: string;
  message: string;
}

/** The panel; `stop()` closes the open channel's stream. */
export function chatPanel(): { el: HTMLElement; stop(): void } {
  let stopStream: (() => void) | undefined;
  const list = h('ul', { class: 'channels', 'aria-label': 'Channels' });
  const view = h('section', { class: 'channel', 'aria-label': 'Channel' }, h('p', {}, 'Choose a channel.'));

  const refresh = async (): Promise<void> => {
    const body = await api('GET', '/v1/channels');
    const names = ((body?.data as Json[]) ?? []).map((c) => String(c.name));
    list.replaceChildren(
      ...names.map((name) =>
        h('li', {}, h('button', { type: 'button', onclick: () => void open(name).catch(showError) }, `#${name}`)),
      ),
    );
  };

  const open = async (name: string): Promise<void> => {
    stopStream?.();
    const log = h('ol', { class: 'messages', 'aria-live': 'polite', 'aria-label': `Messages of #${name}` });
    const state = h('p', { class: 'state' }, 'connecting…');
    const seen = new Set<number>();
    const add = (m: Message): void => {
      if (seen.has(m.messageid)) return;
      seen.add(m.messageid);
      log.append(h('li', { 'data-id': m.messageid }, h('strong', {}, m.username), ' ', h('span', {}, m.message)));
      log.scrollTop = log.scrollHeight;
    };
    const body = await api('GET', `/v1/channels/${encodeURIComponent(name)}/messages`);
    const messages = ((body?.data as Message[]) ?? []).sort((a, b) => a.messageid - b.messageid);
    messages.forEach(add);
    const input = h('input', { name: 'message', required: true, autocomplete: 'off' });
    const post = form(
      'Post a message',
      async () => {
        await api('POST', `/v1/channels/${encodeURIComponent(name)}/messages`, { message: input.value });
        input.value = '';
        input.focus();
      },
      field('Message', input),
      h('button', { type: 'submit' }, 'Post'),
    );
    view.replaceChildren(h('h2', {}, `#${name}`), state, log, post);
    input.focus();
    const after = messages.length === 0 ? 0 : messages[messages.length - 1].messageid;
    stopStream = follow(name, after, {
      message: add,
      ended: (err) => {
        state.textContent = 'not live';
        showError(err);
      },
      state: (s) => (state.textContent = s === 'live' ? 'live' : 'reconnecting…'),
    });
  };

  const nameInput = h('input', { name: 'name', required: true, maxlength: 64, autocomplete: 'off' });
  const create = form(
    'Create a channel',
    async () => {
      const name = nameInput.value.trim();
      await api('POST', '/v1/channels', { name });
      nameInput.value = '';
      await refresh();
      await open(name);
    },
    field('New channel', nameInput),
    h('button', { type: 'submit' }, 'Create'),
  );
  const el = h('div', { class: 'chat' }, h('aside', {}, h('h2', {}, 'Channels'), list, create), view);
  void refresh().catch(showError);
  return { el, stop: () => stopStream?.() };
}
