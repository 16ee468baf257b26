// The flow explorer's entry: the address (the part after `#`) names the view, so every view can
// be linked, bookmarked and reached with the back button. Views: `#/` find, `#/flow/{id}[/tab]`,
// `#/attribute/{value}[/tab]` (tab: summary, variables, wire; `?wider=1` searches 12 months,
// `?sets=a,b` shows variable sets), `#/customer/{id}[?limit=N&cursor=…]`.

import { h, announce } from './dom.js';
import * as api from './api.js';
import { signInView, findView, flowView, customerView, releasePhotos, forget } from './views.js';

const main = document.getElementById('main');
const TABS = new Set(['summary', 'variables', 'wire']);

function decode(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function parseRoute(hash) {
  const raw = hash.replace(/^#/, '');
  const at = raw.indexOf('?');
  const path = at < 0 ? raw : raw.slice(0, at);
  const query = new URLSearchParams(at < 0 ? '' : raw.slice(at + 1));
  const [view, value, tab, ...rest] = path.split('/').filter((s) => s !== '').map(decode);
  if (!view) return { view: 'find' };
  if ((view === 'flow' || view === 'attribute') && value && !rest.length && (!tab || TABS.has(tab))) {
    return {
      view: 'flow', by: view === 'flow' ? 'id' : 'attribute', value, tab: tab || 'timeline',
      wider: query.get('wider') === '1', sets: (query.get('sets') || '').split(',').filter(Boolean),
    };
  }
  if (view === 'customer' && value && !tab) {
    const limit = Number.parseInt(query.get('limit') || '', 10);
    return { view: 'customer', value, limit: limit >= 1 && limit <= 1000 ? limit : null, cursor: query.get('cursor') };
  }
  return { view: 'unknown' };
}

function showSession(c) {
  const session = document.getElementById('session');
  session.hidden = !c;
  if (c) {
    document.getElementById('who').textContent =
      `Tenant ${c.tenant} · ${c.environment ? `environment ${c.environment}` : 'default environment'}`;
  }
}

let generation = 0;
let lastPath = null;

/** Renders the view of the current address. */
async function render() {
  const mine = ++generation;
  delete main.dataset.ready;
  releasePhotos();
  const c = api.credentials();
  showSession(c);
  const route = parseRoute(location.hash);
  const pathOnly = location.hash.split('?')[0];
  if (pathOnly !== lastPath) window.scrollTo(0, 0);
  const focusTitle = lastPath !== null;
  lastPath = pathOnly;
  if (!c) {
    document.title = 'Sign in · Flow explorer';
    signInView(main, () => { forget(); render(); });
    main.dataset.ready = 'true';
    return;
  }
  let load = null;
  if (route.view === 'find') findView(main);
  else if (route.view === 'flow') load = flowView(main, route, render);
  else if (route.view === 'customer') load = customerView(main, route, render);
  else {
    main.replaceChildren(h('h1', { tabindex: -1, id: 'view-title' }, 'No such view'),
      h('p', null, 'This address names no view of the flow explorer. ', h('a', { href: '#/' }, 'Find an interaction')));
  }
  const title = document.getElementById('view-title');
  document.title = `${title ? title.textContent : 'Flow explorer'} · Flow explorer`;
  // After a navigation, a screen reader starts at the new view's title.
  if (focusTitle && title) title.focus({ preventScroll: true });
  const done = load ? await load() : null;
  if (mine !== generation) return;
  if (typeof done === 'string') announce(`${title.textContent}: ${done}`);
  // Tests wait for this mark; a person sees the view itself.
  main.dataset.ready = 'true';
}

function start() {
  window.addEventListener('hashchange', render);
  document.getElementById('sign-out').addEventListener('click', () => {
    api.signOut();
    forget();
    if (parseRoute(location.hash).view === 'find') render();
    else location.hash = '#/';
  });
  // The skip link moves focus without changing the address.
  document.getElementById('skip').addEventListener('click', (e) => {
    e.preventDefault();
    main.focus();
  });
  const dialog = document.getElementById('photo-dialog');
  document.getElementById('photo-dialog-close').addEventListener('click', () => dialog.close());
  dialog.addEventListener('click', (e) => { if (e.target === dialog) dialog.close(); });
  render();
}

start();
