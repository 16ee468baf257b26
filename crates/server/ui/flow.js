// The full flow as a timeline: each page with its title, time and offset from the first page, the
// designer's header and footer as text, and the customer's inputs by kind. Photos are fetched
// through the photo route (maxSize) only when they scroll into view.

import { h, designerHtml, formatTime, isoTime, formatOffset } from './dom.js';
import { photo } from './api.js';

export const THUMBNAIL_SIZE = 160;

const objectUrls = [];
let observer = null;

/** Frees the photos of the previous view. */
export function releasePhotos() {
  if (observer) observer.disconnect();
  observer = null;
  while (objectUrls.length) URL.revokeObjectURL(objectUrls.pop());
}

function objectUrl(blob) {
  const url = URL.createObjectURL(blob);
  objectUrls.push(url);
  return url;
}

function photoProblem(x) {
  if (x.status === 404) return `${x.text || 'photo was not found'} (404)`;
  if (x.error) return x.error;
  return `the gateway answered ${x.status}${x.text ? `: ${x.text}` : ''}`;
}

/** Fetches at most `LIMIT` photos at once, nearest first. */
const LIMIT = 4;
let running = 0;
const waiting = [];
function schedule(job) {
  waiting.push(job);
  pump();
}
function pump() {
  while (running < LIMIT && waiting.length) {
    running++;
    waiting.shift()().finally(() => { running--; pump(); });
  }
}

function fileName(path) {
  return String(path).split('/').pop() || String(path);
}

/** The full-size photo in the page's dialog (an <img> of a blob: nothing in an image runs). */
async function openPhoto(c, uniqueId, path) {
  const dialog = document.getElementById('photo-dialog');
  const body = document.getElementById('photo-dialog-body');
  document.getElementById('photo-dialog-path').textContent = path;
  body.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  if (!dialog.open) dialog.showModal();
  const x = await photo(c, uniqueId, path);
  body.replaceChildren(x.blob
    ? h('img', { src: objectUrl(x.blob), alt: `Photo ${fileName(path)}, full size`, class: 'full-photo' })
    : h('p', { role: 'alert' }, `This photo cannot be shown: ${photoProblem(x)}`));
}

function thumbnail(c, uniqueId, path) {
  const frame = h('span', { class: 'thumb-frame' }, h('span', { class: 'muted small' }, 'Photo…'));
  const button = h('button', { type: 'button', class: 'thumb', onclick: () => openPhoto(c, uniqueId, path) },
    h('span', { class: 'sr-only' }, `Open photo ${fileName(path)} full size: `), frame);
  const figure = h('figure', { class: 'photo' }, button, h('figcaption', { class: 'mono small' }, path));
  figure.load = () => schedule(async () => {
    const x = uniqueId === null
      ? { error: 'the interaction\'s unique id is not known here; open the flow by its id to see photos' }
      : await photo(c, uniqueId, path, THUMBNAIL_SIZE);
    frame.replaceChildren(x.blob
      ? h('img', { src: objectUrl(x.blob), alt: `Photo ${fileName(path)}`, width: THUMBNAIL_SIZE, height: THUMBNAIL_SIZE })
      : h('span', { class: 'photo-problem small' }, photoProblem(x)));
    if (!x.blob) button.disabled = uniqueId === null;
  });
  return figure;
}

function watch(figure) {
  if (!observer) {
    observer = new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (!e.isIntersecting) continue;
        observer.unobserve(e.target);
        e.target.load();
      }
    }, { rootMargin: '400px 0px' });
  }
  observer.observe(figure);
}

function buttonLabel(b) {
  return (b && (b.buttonLabel || b.id)) || '(no label)';
}

function chosenMark(chosen) {
  return chosen
    ? h('span', { class: 'badge chosen' }, '✓ chosen')
    : h('span', { class: 'badge' }, 'not chosen');
}

function kind(text) {
  return h('span', { class: 'kind' }, text);
}

/** One section choice, shown by its kind. */
function choice(c, uniqueId, ch) {
  const value = ch.choiceValue || '';
  if (ch.textInput) {
    const t = ch.textInput;
    const details = [
      t.placeHolderText && `placeholder “${t.placeHolderText}”`,
      t.textInputFormat && `format ${t.textInputFormat}`,
      t.textMask && `mask ${t.textMask}`,
      t.maxCharacters !== undefined && `at most ${t.maxCharacters} characters`,
      (t.minRange || t.maxRange) && `range ${t.minRange ?? '…'} to ${t.maxRange ?? '…'}`,
      t.isMandatory && 'mandatory',
    ].filter(Boolean).join(' · ');
    return h('li', { class: 'choice' },
      kind('Typed text'), t.buttonLabel ? h('span', { class: 'label' }, t.buttonLabel) : null,
      value ? h('div', { class: 'typed' }, value) : h('div', { class: 'typed empty' }, '(left empty)'),
      details && h('div', { class: 'muted small' }, details));
  }
  if (ch.selectFromList) {
    const options = ch.selectFromList.selectFromListOptions || [];
    const known = options.some((o) => o.id === value);
    return h('li', { class: 'choice' },
      kind('Chosen from a list'), ch.selectFromList.buttonLabel ? h('span', { class: 'label' }, ch.selectFromList.buttonLabel) : null,
      h('ul', { class: 'options', 'aria-label': 'Options offered' }, options.map((o) => h('li', {
        class: o.id === value ? 'option chosen' : 'option',
      }, buttonLabel(o), o.id === value ? h('span', { class: 'badge chosen' }, '✓ chosen') : null))),
      value && !known ? h('div', { class: 'muted small' }, `Value not among the options: ${value}`) : null,
      !value ? h('div', { class: 'muted small' }, 'Nothing chosen') : null);
  }
  if (ch.choiceSwitch) {
    const state = value === 'true' ? 'On' : value === 'false' ? 'Off' : (value || '(no value)');
    return h('li', { class: 'choice' }, kind('Switch'), h('span', { class: 'label' }, buttonLabel(ch.choiceSwitch)),
      h('span', { class: value === 'true' ? 'badge chosen' : 'badge' }, state));
  }
  if (ch.choiceOption) {
    return h('li', { class: 'choice' }, kind('Option'), h('span', { class: 'label' }, buttonLabel(ch.choiceOption)),
      chosenMark(value !== ''));
  }
  if (ch.clickToContinue) {
    return h('li', { class: 'choice' }, kind('Button'), h('span', { class: 'label' }, buttonLabel(ch.clickToContinue)),
      value !== '' ? h('span', { class: 'badge chosen' }, '✓ pressed') : h('span', { class: 'badge' }, 'not pressed'));
  }
  if (ch.uploadImageList) {
    const images = ch.uploadImageList.images || [];
    const figures = images.map((img) => thumbnail(c, uniqueId, img.imagePath));
    return h('li', { class: 'choice' }, kind('Photos'),
      h('span', { class: 'label' }, images.length ? `${images.length} uploaded` : 'none uploaded'),
      figures.length ? h('div', { class: 'photos' }, figures) : null);
  }
  return h('li', { class: 'choice' }, kind('Choice'), h('span', { class: 'label' }, value));
}

function designerBlock(block, what) {
  if (!block || !block.innerHtml) return null;
  return h('div', { class: `designer ${what}` },
    h('div', { class: 'designer-text' }, designerHtml(block.innerHtml)),
    h('details', { class: 'source' }, h('summary', null, `${what === 'header' ? 'Header' : 'Footer'} HTML as stored`),
      h('pre', null, block.innerHtml)));
}

function navigationButtons(nav) {
  const shown = [['Left', nav.navigationLeft], ['Right', nav.navigationRight]]
    .filter(([, b]) => b && b.buttonVisible !== false && b.buttonLabel);
  if (!shown.length) return null;
  return h('p', { class: 'nav-buttons muted small' }, 'Navigation: ',
    shown.map(([side, b], i) => [i ? ' · ' : '', `${b.buttonLabel} (${side.toLowerCase()})`]));
}

function page(c, uniqueId, p, index, start) {
  const nav = p.pageNavigation || {};
  const content = p.pageContent || {};
  const titleId = `page-${index + 1}-title`;
  const figures = [];
  const sections = (content.contentSections || []).map((s) => {
    const items = (s.sectionChoices || []).map((ch) => choice(c, uniqueId, ch));
    return h('section', { class: 'section' },
      s.sectionLabel ? h('h4', null, s.sectionLabel) : null,
      items.length ? h('ul', { class: 'choices' }, items) : h('p', { class: 'muted small' }, 'No choices'));
  });
  const article = h('article', { class: 'page', id: `page-${index + 1}`, 'aria-labelledby': titleId },
    h('header', { class: 'page-head' },
      h('span', { class: 'page-n', 'aria-hidden': 'true' }, String(index + 1)),
      h('h3', { id: titleId }, h('span', { class: 'sr-only' }, `Page ${index + 1}: `), nav.navigationTitle || '(untitled page)'),
      h('p', { class: 'page-meta' },
        h('time', { datetime: isoTime(p.timestamp), title: isoTime(p.timestamp) }, formatTime(p.timestamp)),
        ' · ', h('span', { class: 'offset' }, `${formatOffset(p.timestamp - start)} from the first page`),
        nav.pageReferenceName ? [' · ', h('code', null, nav.pageReferenceName)] : null)),
    designerBlock(content.contentHeader, 'header'),
    sections,
    designerBlock(content.contentFooter, 'footer'),
    navigationButtons(nav));
  for (const f of article.querySelectorAll('figure.photo')) figures.push(f);
  return { element: h('li', null, article), figures };
}

/** The timeline of `pages` (navigation order). `uniqueId` names the interaction for its photos. */
export function timeline(c, uniqueId, pages) {
  releasePhotos();
  const start = pages.length ? pages[0].timestamp : 0;
  const list = h('ol', { class: 'timeline', 'aria-label': `${pages.length} pages, in navigation order` });
  const fragment = document.createDocumentFragment();
  const figures = [];
  pages.forEach((p, i) => {
    const built = page(c, uniqueId, p, i, start);
    fragment.append(built.element);
    figures.push(...built.figures);
  });
  list.append(fragment);
  // Observed once in the document, so that only the photos near the screen are fetched.
  queueMicrotask(() => figures.forEach(watch));
  return list;
}

/** The summary route's answer: the pages with answers, and what was answered. */
export function summary(items) {
  return h('ol', { class: 'summary' }, items.map((s) => h('li', null,
    h('article', { class: 'page' },
      h('header', { class: 'page-head' },
        h('h3', null, s.pageTitle || s.pageId),
        h('p', { class: 'page-meta' }, h('time', { datetime: isoTime(s.timestamp) }, formatTime(s.timestamp)),
          ' · ', h('code', null, s.pageId))),
      s.header ? h('p', { class: 'designer-text' }, s.header) : null,
      h('table', { class: 'kv' },
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Question'), h('th', { scope: 'col' }, 'Answer'))),
        h('tbody', null, (s.answers || []).map((a) => h('tr', null,
          h('th', { scope: 'row' }, a.label || a.referenceName || a.id),
          h('td', { class: 'typed-cell' }, a.value))))),
      s.footer ? h('p', { class: 'muted small' }, s.footer) : null))));
}

/** A variable set's variables, in their stored order. */
export function variableTable(name, data) {
  const rows = Object.entries(data);
  return h('table', { class: 'kv' },
    h('caption', null, `Variable set ${name}`),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Variable'), h('th', { scope: 'col' }, 'Value'))),
    h('tbody', null, rows.length ? rows.map(([k, v]) => h('tr', null, h('th', { scope: 'row', class: 'mono' }, k),
      h('td', { class: 'typed-cell' }, v === '' ? h('span', { class: 'muted' }, '(empty)') : String(v))))
      : h('tr', null, h('td', { colspan: 2 }, '(no variables)'))));
}
