/**
 * The web console (served by the gateway at /console): sign in, then the channels, nodes and
 * bus panels. Plain ES modules over the /v1 API, no framework; no inline script, so a strict
 * Content-Security-Policy holds.
 */
import { api, sessionKey, setSession, type Json } from './api.js';
import { busPanel } from './bus.js';
import { chatPanel } from './chat.js';
import { field, form, h, showError } from './dom.js';
import { nodesPanel } from './nodes.js';

type Panel = { el: HTMLElement; stop(): void };
/** Each panel, made for the signed-in user. */
const PANELS: Record<string, (username: string) => Panel> = {
  Channels: chatPanel,
  Nodes: nodesPanel,
  Bus: busPanel,
};

const app = document.getElementById('app')!;
const who = document.getElementById('who')!;
const signout = document.getElementById('signout') as HTMLButtonElement;
let current: Panel | undefined;

function signInPage(): void {
  current?.stop();
  current = undefined;
  who.hidden = true;
  signout.hidden = true;
  const user = h('input', { name: 'username', required: true, autocomplete: 'username' });
  const pass = h('input', { name: 'password', type: 'password', required: true, autocomplete: 'current-password' });
  const f = form(
    'Sign in',
    async () => {
      const body = await api('POST', '/v1/sessions', { username: user.value.trim(), password: pass.value });
      setSession(String(body?.session));
      await mainPage();
    },
    h('h2', {}, 'Sign in'),
    field('Username', user),
    field('Password', pass),
    h('button', { type: 'submit' }, 'Sign in'),
  );
  app.replaceChildren(h('section', { class: 'signin' }, f));
  user.focus();
}

async function mainPage(): Promise<void> {
  const me = (await api('GET', '/v1/sessions/current')) as Json;
  const username = String(me.username);
  who.textContent = `Signed in as ${username}`;
  who.hidden = false;
  signout.hidden = false;
  const area = h('div', { class: 'panel', role: 'tabpanel', tabindex: -1 });
  const tabs = Object.keys(PANELS).map((name) => {
    const b = h('button', { type: 'button', role: 'tab', 'aria-selected': 'false' }, name);
    b.addEventListener('click', () => show(name));
    return b;
  });
  const show = (name: string): void => {
    current?.stop();
    current = PANELS[name](username);
    area.replaceChildren(current.el);
    for (const t of tabs) t.setAttribute('aria-selected', String(t.textContent === name));
  };
  app.replaceChildren(h('nav', { role: 'tablist', 'aria-label': 'Panels' }, ...tabs), area);
  show('Channels');
}

signout.addEventListener('click', () => {
  void api('DELETE', '/v1/sessions/current')
    .catch(() => undefined)
    .then(() => {
      setSession(null);
      showError(null);
      signInPage();
    });
});

if (sessionKey() === null) signInPage();
else
  mainPage().catch((err: unknown) => {
    setSession(null);
    signInPage();
    showError(err);
  });
