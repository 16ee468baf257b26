// Building the page without markup strings: every element is created with createElement and every
// piece of data goes in as a text node, so nothing a customer or a flow designer wrote can become
// markup or script. Designer HTML (`innerHtml`) is not handed to the browser's HTML parser either:
// `designerHtml` reads its tags itself and copies out only its text, under a few formatting tags
// created afresh, without a single attribute. The page's Content-Security-Policy enforces Trusted
// Types with no policy at all, so any HTML or script sink would throw.

/** h('a', {href: '#/x', class: 'c', onclick: fn}, 'text', child, [more]) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) {
      if (typeof value !== 'function') throw new Error(`${name} must be a function`);
      el.addEventListener(name.slice(2), value);
    } else if (name === 'href' && !String(value).startsWith('#')) {
      // Links lead to the explorer's own views only; data never becomes an address.
      throw new Error('only #/… links');
    } else if (name === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

/** Tags whose text is kept, recreated without attributes. Headings become bold paragraphs. */
const FORMAT = new Map([
  ['b', 'b'], ['strong', 'strong'], ['i', 'i'], ['em', 'em'], ['u', 'u'], ['s', 's'], ['small', 'small'],
  ['sub', 'sub'], ['sup', 'sup'], ['p', 'p'], ['div', 'div'], ['ul', 'ul'], ['ol', 'ol'], ['li', 'li'],
  ['blockquote', 'blockquote'], ['pre', 'pre'], ['code', 'code'], ['h1', 'p'], ['h2', 'p'], ['h3', 'p'],
  ['h4', 'p'], ['h5', 'p'], ['h6', 'p'], ['table', 'div'], ['tr', 'div'],
]);
/** Elements whose content is not text for a reader: skipped up to their end tag. */
const SKIP = new Set(['script', 'style', 'template', 'noscript', 'iframe', 'object', 'embed', 'svg', 'math',
  'head', 'title', 'textarea', 'select', 'audio', 'video', 'canvas', 'noembed', 'noframes', 'xmp']);
const ENTITIES = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', ndash: '–', mdash: '—', hellip: '…',
  lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', laquo: '«', raquo: '»', bull: '•', middot: '·', copy: '©',
  reg: '®', trade: '™', euro: '€', pound: '£', deg: '°', times: '×', eacute: 'é', egrave: 'è', uuml: 'ü',
};

function decodeEntities(text) {
  return text.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,8});/gi, (whole, name) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : '\ufffd';
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}

/** The value of attribute `name` in a start tag's text, for showing (never for using). */
function attribute(tag, name) {
  const m = new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  return m ? decodeEntities(m[2] ?? m[3] ?? m[4]) : null;
}

/**
 * Designer HTML as formatted text. It is never given to the browser's HTML parser: a small reader
 * here walks its tags, keeps the text, recreates a few formatting tags without any attribute, and
 * drops the rest (scripts, styles, frames and their content; images become "[image: alt]"; a
 * link's address is shown as text and never followed).
 */
export function designerHtml(html) {
  const out = document.createDocumentFragment();
  const stack = [out];
  const top = () => stack[stack.length - 1];
  const text = (t) => { if (t) top().append(document.createTextNode(decodeEntities(t))); };
  const source = String(html);
  const tagPattern = /<!--[\s\S]*?(?:-->|$)|<\/?([a-zA-Z][a-zA-Z0-9-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>|<![^>]*>|<\?[^>]*>/g;
  let at = 0;
  for (let m = tagPattern.exec(source); m; m = tagPattern.exec(source)) {
    text(source.slice(at, m.index));
    at = tagPattern.lastIndex;
    const name = (m[1] || '').toLowerCase();
    if (!name) continue; // a comment, doctype or processing instruction
    const closing = m[0][1] === '/';
    if (!closing && SKIP.has(name)) {
      const end = source.toLowerCase().indexOf(`</${name}`, at);
      at = end < 0 ? source.length : end;
      tagPattern.lastIndex = at;
      continue;
    }
    if (name === 'br' && !closing) {
      top().append(document.createElement('br'));
    } else if (name === 'img' && !closing) {
      const alt = attribute(m[0], 'alt');
      top().append(h('span', { class: 'muted' }, alt ? `[image: ${alt}]` : '[image]'));
    } else if (name === 'a' && closing) {
      const open = stack.findLastIndex((el) => el.linkTarget !== undefined);
      if (open > 0) {
        const link = stack[open];
        stack.length = open;
        if (link.linkTarget) link.append(h('span', { class: 'muted link-target' }, ` ⟨${link.linkTarget}⟩`));
      }
    } else if (name === 'a') {
      const link = document.createElement('span');
      link.linkTarget = attribute(m[0], 'href') || '';
      top().append(link);
      stack.push(link);
    } else if (FORMAT.has(name) && !closing) {
      const el = document.createElement(FORMAT.get(name));
      el.dataset.tag = name;
      top().append(el);
      if (stack.length < 32) stack.push(el);
    } else if (FORMAT.has(name)) {
      const open = stack.findLastIndex((el) => el.dataset && el.dataset.tag === name);
      if (open > 0) stack.length = open;
    }
  }
  text(source.slice(at));
  for (const el of out.querySelectorAll('[data-tag]')) {
    if (/^h[1-6]$/.test(el.dataset.tag)) el.replaceChildren(h('strong', null, ...el.childNodes));
    delete el.dataset.tag;
  }
  return out;
}

/** Tells screen readers what just happened (a polite live region). */
export function announce(text) {
  const region = document.getElementById('announce');
  region.textContent = '';
  // A separate task, so that the same message twice is still read.
  setTimeout(() => { region.textContent = text; }, 30);
}

/** A button that copies `text()` to the clipboard and says so. */
export function copyButton(label, text) {
  const button = h('button', { type: 'button', class: 'small-button' }, label);
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text());
      announce('Copied');
      button.textContent = 'Copied';
      setTimeout(() => { button.textContent = label; }, 1500);
    } catch {
      announce('The browser did not allow copying; select the text instead');
    }
  });
  return button;
}

export function formatTime(ms) {
  return new Date(ms).toLocaleString(undefined, {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
}

export function isoTime(ms) {
  return new Date(ms).toISOString();
}

/** "+1:05" or "+1:02:05" from a number of milliseconds. */
export function formatOffset(ms) {
  const total = Math.max(0, Math.round(ms / 1000));
  const s = total % 60;
  const m = Math.floor(total / 60) % 60;
  const hours = Math.floor(total / 3600);
  const pad = (n) => String(n).padStart(2, '0');
  return hours > 0 ? `+${hours}:${pad(m)}:${pad(s)}` : `+${m}:${pad(s)}`;
}
