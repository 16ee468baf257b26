// The views: sign-in, find, a flow (timeline, summary, variable sets, on the wire) and a customer's
// interactions. Each renders into <main> from its address (see app.js) and the gateway's answers.

import { h } from './dom.js';
import * as api from './api.js';
import { timeline, summary, variableTable, releasePhotos } from './flow.js';
import { restPanel, soapPanel } from './wire.js';

const enc = encodeURIComponent;

/** Addresses of the views, so that every link is built one way. */
export const href = {
  find: () => '#/',
  flow: (by, value, { tab, wider, sets } = {}) => {
    const q = new URLSearchParams();
    if (wider) q.set('wider', '1');
    if (sets && sets.length) q.set('sets', sets.join(','));
    const query = q.toString();
    return `#/${by === 'attribute' ? 'attribute' : 'flow'}/${enc(value)}${tab && tab !== 'timeline' ? `/${tab}` : ''}${query ? `?${query}` : ''}`;
  },
  customer: (id, { limit, cursor } = {}) => {
    const q = new URLSearchParams();
    if (limit) q.set('limit', String(limit));
    if (cursor) q.set('cursor', cursor);
    const query = q.toString();
    return `#/customer/${enc(id)}${query ? `?${query}` : ''}`;
  },
};

function heading(text, extra) {
  return h('h1', { tabindex: -1, id: 'view-title' }, text, extra || null);
}

function crumbs(...items) {
  return h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' },
    h('a', { href: href.find() }, 'Find'), items.map((i) => [' › ', i]));
}

// --- sign in ---------------------------------------------------------------------------------------

export function signInView(main, done) {
  const tenant = h('input', { id: 'tenant', name: 'tenant', required: true, autocomplete: 'off', spellcheck: 'false', inputmode: 'text' });
  const key = h('input', { id: 'key', name: 'key', type: 'password', required: true, autocomplete: 'off', spellcheck: 'false' });
  const environment = h('input', { id: 'environment', name: 'environment', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'environment-help' });
  const form = h('form', { class: 'card form', method: 'post', 'aria-labelledby': 'view-title' },
    h('label', { for: 'tenant' }, 'Tenant (account id)'), tenant,
    h('label', { for: 'key' }, 'Application key'), key,
    h('label', { for: 'environment' }, 'Environment ', h('span', { class: 'muted' }, '(optional)')), environment,
    h('p', { id: 'environment-help', class: 'muted small' }, 'Empty: the tenant’s default environment. A key belongs to one environment.'),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    api.signIn(tenant.value.trim(), key.value.trim(), environment.value.trim());
    done();
  });
  main.replaceChildren(heading('Sign in'),
    h('p', { class: 'lede' }, 'Look at the interaction history this gateway serves, page by page, the way the customer went through it.'),
    form,
    h('p', { class: 'muted small' }, 'The key stays in this browser tab (sessionStorage) until you sign out or close the tab. ',
      'It is sent only as a request header to this gateway’s own REST and SOAP routes, exactly as any client sends it.'));
  tenant.focus();
}

// --- find ----------------------------------------------------------------------------------------------

function windowChoice(name) {
  const three = h('input', { type: 'radio', name, id: `${name}-3`, value: '', checked: true });
  const twelve = h('input', { type: 'radio', name, id: `${name}-12`, value: '1' });
  return {
    element: h('fieldset', { class: 'window' }, h('legend', null, 'Search window'),
      h('span', { class: 'radio' }, three, h('label', { for: `${name}-3` }, 'Past 3 months')),
      h('span', { class: 'radio' }, twelve, h('label', { for: `${name}-12` }, 'Past 12 months (widerSearch)'))),
    wider: () => twelve.checked,
  };
}

function findForm(id, title, help, label, placeholder, extra, go) {
  const input = h('input', { id: `${id}-value`, required: true, placeholder, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': `${id}-help` });
  const form = h('form', { class: 'card form', method: 'post', 'aria-labelledby': `${id}-title`, id },
    h('h2', { id: `${id}-title` }, title),
    h('p', { id: `${id}-help`, class: 'muted small' }, help),
    h('label', { for: `${id}-value` }, label), input,
    extra ? extra.element : null,
    h('button', { type: 'submit', class: 'primary' }, 'Show'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = input.value.trim();
    if (value) location.hash = go(value, extra && extra.wider());
  });
  return form;
}

export function findView(main) {
  const byIdWindow = windowChoice('id-window');
  const byAttributeWindow = windowChoice('attribute-window');
  main.replaceChildren(heading('Find an interaction'),
    h('div', { class: 'cards' },
      findForm('find-id', 'By unique id', 'The interaction’s unique id, as in …/interactiondata/{id}/fullFlow.',
        'Unique id', 'e.g. 040100713', byIdWindow, (v, wider) => href.flow('id', v, { wider })),
      findForm('find-attribute', 'By caller attribute',
        'A DTMF code, DNID, call-return number, caller id or history search id: the interaction whose newest allocation matches.',
        'Caller attribute value', 'e.g. history1', byAttributeWindow, (v, wider) => href.flow('attribute', v, { wider })),
      findForm('find-customer', 'A customer’s interactions',
        'Every interaction of one customer, newest first (Context Services), a page at a time.',
        'Customer id', 'e.g. 00001a57JGQ00BVU', null, (v) => href.customer(v))));
}

// --- answers that are not data ------------------------------------------------------------------------

function signInAgain(rerender) {
  return h('button', { type: 'button', onclick: () => { api.signOut(); rerender(); } }, 'Sign in again');
}

function contextMessage(x) {
  try {
    return JSON.parse(x.text).message || x.text;
  } catch {
    return x.text;
  }
}

/** What an answer that is not the data means, in the vendor's terms. */
export function problem(x, { rerender, retry, widerHref, surface = 'interact' }) {
  const box = (title, ...rest) => h('div', { class: 'problem', role: 'alert' }, h('h2', null, title), rest);
  if (x.error) return box('No answer', h('p', null, `The gateway could not be reached: ${x.error}.`), retry && h('button', { type: 'button', onclick: retry }, 'Try again'));
  const body = surface === 'context' ? contextMessage(x) : x.text;
  switch (x.status) {
    case 401:
      return box('The gateway refused these credentials',
        h('p', null, 'Reason: ', h('strong', { class: 'reason' },
          x.headers['unauthenticated-reason'] || (surface === 'context' ? contextMessage(x) : 'none given'))),
        surface === 'interact' ? h('p', { class: 'muted small' }, `401 ${body}`) : null,
        signInAgain(rerender));
    case 404:
      return box('Not found',
        h('p', null, h('strong', { class: 'vendor-text' }, body)),
        surface === 'interact'
          ? h('p', { class: 'muted' }, widerHref
            ? 'Only interactions active in the past 3 months are searched by default. '
            : 'The past 12 months were searched (widerSearch=true); older history is not served. ',
          widerHref ? h('a', { href: widerHref }, 'Search the past 12 months') : null)
          : null);
    case 400:
      return box('The gateway refused the request', h('p', null, h('strong', { class: 'vendor-text' }, body)));
    case 503:
      return box('The history store is unavailable',
        h('p', null, `The gateway answered 503 ${body}; it asks to retry after ${x.headers['retry-after'] || 'a'} s.`),
        retry && h('button', { type: 'button', onclick: retry }, 'Try again'));
    default:
      return box(`The gateway answered ${x.status}`,
        h('p', null, h('strong', { class: 'vendor-text' }, body || '(no body)')),
        x.headers['x-request-id'] ? h('p', { class: 'muted small' }, `Its log has the cause under request id ${x.headers['x-request-id']}.`) : null);
  }
}

function loading(text) {
  return h('p', { class: 'muted loading', role: 'status' }, text);
}

// --- a flow --------------------------------------------------------------------------------------------

const TABS = [['timeline', 'Timeline'], ['summary', 'Summary'], ['variables', 'Variable sets'], ['wire', 'On the wire']];

/** Answers of this tab's session, so that moving between tabs does not ask again. */
const answers = new Map();
function cached(key, fetcher) {
  if (!answers.has(key)) {
    if (answers.size > 40) answers.delete(answers.keys().next().value);
    answers.set(key, fetcher());
  }
  return answers.get(key);
}
export function forget() {
  answers.clear();
}

function flowRest(route, what) {
  const base = `/interactiondata/${enc(route.value)}/${what}`;
  return route.by === 'attribute' ? `${base}/byCallerAttribute` : base;
}

function flowQuery(route) {
  return route.wider ? 'widerSearch=true' : '';
}

function fetchOnce(c, route, what) {
  const key = `${c.tenant}|${c.environment}|${route.by}|${route.value}|${route.wider}|${what}`;
  return cached(key, () => api.interact(c, flowRest(route, what), flowQuery(route)));
}

/** The unique id behind a caller attribute, for its photos: the uniqueId routes, all in agreement. */
function resolveUniqueId(c, route) {
  if (route.by === 'id') return Promise.resolve(route.value);
  const key = `${c.tenant}|${c.environment}|uid|${route.value}|${route.wider}`;
  return cached(key, async () => {
    const kinds = ['historySearchId', 'dtmf', 'callReturn', 'clickToCall'];
    const found = await Promise.all(kinds.map((k) => api.interact(c, `/uniqueId/${k}/${enc(route.value)}`, flowQuery(route))));
    const ids = new Set(found.filter((x) => x.status === 200).map((x) => {
      try { return JSON.parse(x.text).uniqueId; } catch { return null; }
    }).filter(Boolean));
    return ids.size === 1 ? [...ids][0] : null;
  });
}

function parsePages(x) {
  if (x.text === '') return [];
  const pages = JSON.parse(x.text);
  return Array.isArray(pages) ? pages : [];
}

function emptyFlow(route) {
  return h('div', { class: 'problem neutral', role: 'status' }, h('h2', null, 'History found, but empty'),
    h('p', null, route.by === 'id'
      ? `Interaction ${route.value} exists and has no completed page yet.`
      : `Caller attribute ${route.value} leads to an interaction with no completed page yet.`),
    h('p', { class: 'muted small' }, 'The vendor’s answer for this is 200 with an empty body (“EMPTY”).'));
}

function stats(pages) {
  const first = pages[0].timestamp;
  const last = pages[pages.length - 1].timestamp;
  const span = Math.round((last - first) / 1000);
  const minutes = Math.floor(span / 60);
  return h('p', { class: 'stats' },
    h('strong', null, `${pages.length} ${pages.length === 1 ? 'page' : 'pages'}`),
    ` · from ${new Date(first).toLocaleString()} to ${new Date(last).toLocaleTimeString()}`,
    ` · ${minutes} min ${span % 60} s`);
}

export function flowView(main, route, rerender) {
  const c = api.credentials();
  const title = route.by === 'id' ? `Interaction ${route.value}` : `Caller attribute ${route.value}`;
  const tabLink = ([tab, label]) => h('a', {
    href: href.flow(route.by, route.value, { tab, wider: route.wider, sets: route.sets }),
    'aria-current': tab === route.tab ? 'page' : null,
  }, label);
  const windowLine = h('p', { class: 'lede' }, route.wider
    ? ['Searching the past 12 months (widerSearch=true). ', h('a', { href: href.flow(route.by, route.value, { tab: route.tab, sets: route.sets }) }, 'Past 3 months only')]
    : ['Searching the past 3 months. ', h('a', { href: href.flow(route.by, route.value, { tab: route.tab, wider: true, sets: route.sets }) }, 'Search the past 12 months')]);
  const resolved = h('p', { class: 'muted small', id: 'resolved' });
  const body = h('div', { class: 'tab-body' });
  main.replaceChildren(crumbs(title), heading(title), windowLine, resolved,
    h('nav', { class: 'tabs', 'aria-label': 'Views of this interaction' }, TABS.map(tabLink)), body);
  const widerHref = route.wider ? null : href.flow(route.by, route.value, { tab: route.tab, wider: true, sets: route.sets });
  const retry = () => { forget(); rerender(); };
  const show = (...nodes) => body.replaceChildren(...nodes);
  if (route.by === 'attribute') {
    resolveUniqueId(c, route).then((id) => {
      if (id) resolved.replaceChildren('Allocated to interaction ', h('a', { href: href.flow('id', id, { wider: route.wider }) }, id), '.');
    });
  }
  const tab = {
    timeline: async () => {
      show(loading('Loading the full flow…'));
      const x = await fetchOnce(c, route, 'fullFlow');
      if (x.status !== 200) return show(problem(x, { rerender, retry, widerHref }));
      const pages = parsePages(x);
      if (!pages.length) return show(emptyFlow(route));
      const uniqueId = await resolveUniqueId(c, route);
      show(h('h2', { class: 'sr-only' }, 'Timeline'), stats(pages), timeline(c, uniqueId, pages));
      return `${pages.length} pages`;
    },
    summary: async () => {
      show(loading('Loading the summary…'));
      const x = await fetchOnce(c, route, 'summary');
      if (x.status !== 200) return show(problem(x, { rerender, retry, widerHref }));
      const items = x.text ? JSON.parse(x.text) : [];
      show(h('h2', null, 'Summary'),
        h('p', { class: 'muted small' }, 'Only the pages where the customer entered or chose something (the summary route).'),
        items.length ? summary(items) : h('p', null, 'No page with an answer.'));
      return `${items.length} pages with answers`;
    },
    variables: () => variablesTab(c, route, show, rerender, retry, widerHref),
    wire: async () => {
      show(loading('Loading…'));
      const x = await fetchOnce(c, route, 'fullFlow');
      const operation = route.by === 'id' ? 'GetInteractionFullFlowByUUID' : 'GetInteractionFullFlowByCallerAttribute';
      const fields = [[route.by === 'id' ? 'uniqueId' : 'callerAttribute', route.value]];
      if (route.wider) fields.push(['widerSearch', 'true']);
      show(h('p', { class: 'muted' }, 'The requests this page sent for this flow and the gateway’s answers, exactly.'),
        restPanel(x), soapPanel(c, '1.1', operation, fields), soapPanel(c, '1.2', operation, fields));
      return 'requests and answers';
    },
  }[route.tab];
  return tab;
}

const SET_NAMES = 'ixgw.variableSets';

function rememberedSets() {
  try { return JSON.parse(sessionStorage.getItem(SET_NAMES) || '[]'); } catch { return []; }
}

async function variablesTab(c, route, show, rerender, retry, widerHref) {
  const input = h('input', { id: 'set-name', list: 'set-names', required: true, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'set-help' });
  const form = h('form', { class: 'inline-form', method: 'post', 'aria-label': 'Show a variable set' },
    h('label', { for: 'set-name' }, 'Variable set id'), input,
    h('datalist', { id: 'set-names' }, rememberedSets().map((n) => h('option', { value: n }))),
    h('button', { type: 'submit', class: 'primary' }, 'Show'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const name = input.value.trim();
    if (!name) return;
    const remembered = [name, ...rememberedSets().filter((n) => n !== name)].slice(0, 20);
    sessionStorage.setItem(SET_NAMES, JSON.stringify(remembered));
    const sets = [...route.sets.filter((s) => s !== name), name];
    location.hash = href.flow(route.by, route.value, { tab: 'variables', wider: route.wider, sets });
  });
  const list = h('div', { class: 'sets' });
  show(h('h2', null, 'Variable sets'),
    h('p', { id: 'set-help', class: 'muted small' }, 'A flow does not list its variable sets: name one (as the flow designer did) to see its variables.'),
    form, list);
  for (const name of route.sets) {
    const slot = h('div', { class: 'set' }, loading(`Loading ${name}…`));
    list.append(slot);
    const x = await fetchOnce(c, route, `variableSet/${enc(name)}`);
    const remove = h('a', { href: href.flow(route.by, route.value, { tab: 'variables', wider: route.wider, sets: route.sets.filter((s) => s !== name) }), class: 'small' }, `Remove ${name}`);
    if (x.status === 200) {
      let data = {};
      try { data = JSON.parse(x.text).voice.data || {}; } catch { /* shown as no variables */ }
      slot.replaceChildren(variableTable(name, data), remove);
    } else {
      slot.replaceChildren(problem(x, { rerender, retry, widerHref }), remove);
    }
  }
  return `${route.sets.length} variable sets`;
}

// --- a customer's interactions ------------------------------------------------------------------------

const STATUS = ['new', 'pending', 'in process', 'stopped'];
const DEFAULT_LIMIT = 25;

function nextCursor(link) {
  const m = /<([^>]*)>\s*;\s*rel="?next"?/.exec(link || '');
  if (!m) return null;
  try { return new URL(m[1], location.origin).searchParams.get('cursor'); } catch { return null; }
}

function interactionRow(i) {
  const id = i.interaction_id;
  const start = i.start_date ? new Date(i.start_date) : null;
  return h('tr', null,
    h('td', { 'data-label': 'Started' }, start ? h('time', { datetime: i.start_date }, start.toLocaleString()) : '—'),
    h('td', { 'data-label': 'Media' }, i.media_type || '—'),
    h('td', { 'data-label': 'Subject' }, i.subject || '—'),
    h('td', { 'data-label': 'Status' }, Number.isInteger(i.status) ? `${i.status} ${STATUS[i.status] || ''}` : '—'),
    h('td', { 'data-label': 'Interaction' }, h('a', { href: href.flow('id', id), class: 'mono' }, id)));
}

export function customerView(main, route, rerender) {
  const c = api.credentials();
  const limit = route.limit || DEFAULT_LIMIT;
  const title = `Customer ${route.value}`;
  const body = h('div');
  main.replaceChildren(crumbs(title), heading(title),
    h('p', { class: 'lede' }, `Interactions, newest first, ${limit} a page (Context Services).`), body);
  const retry = () => { forget(); rerender(); };
  return async () => {
    body.replaceChildren(loading('Loading the interactions…'));
    const q = new URLSearchParams({ limit: String(limit) });
    if (route.cursor) q.set('cursor', route.cursor);
    const x = await api.context(c, `/customers/${enc(route.value)}/interactions`, q.toString());
    if (x.status !== 200) {
      body.replaceChildren(problem(x, { rerender, retry, surface: 'context' }));
      return 'an error';
    }
    let items = [];
    try { items = JSON.parse(x.text); } catch { /* shown as none */ }
    const next = nextCursor(x.headers.link);
    const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of the list' },
      route.cursor ? h('a', { href: href.customer(route.value, { limit: route.limit }) }, '« First page') : null,
      next ? h('a', { href: href.customer(route.value, { limit: route.limit, cursor: next }), rel: 'next' }, 'Next page »') : null);
    body.replaceChildren(
      items.length
        ? h('table', { class: 'list' },
          h('caption', { class: 'sr-only' }, `Interactions of customer ${route.value}`),
          h('thead', null, h('tr', null, ['Started', 'Media', 'Subject', 'Status', 'Interaction'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', null, items.map(interactionRow)))
        : h('p', { class: 'problem neutral', role: 'status' }, route.cursor ? 'No more interactions.' : `No interactions for customer ${route.value} (the list is empty).`),
      pager,
      h('details', { class: 'wire-details' }, h('summary', null, 'On the wire'), restPanel(x)));
    return `${items.length} interactions`;
  };
}

export { releasePhotos };
