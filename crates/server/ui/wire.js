// "On the wire": the exact requests the page sent and the answers the gateway gave, as a curl
// line (REST) or an envelope ready for SoapUI (SOAP 1.1 and 1.2). Nothing here answers anything:
// the replies shown are the real endpoints' replies to these very requests.

import { h, copyButton } from './dom.js';
import { soap } from './api.js';

const SERVICE_NS = 'http://com/jacada/interact/interactiondata/soap';

function xmlText(value) {
  return String(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/**
 * The request envelope of `operation` with its `fields` ([[name, value], …]), in SoapUI's own
 * style for that version (1.1: the seed's `soapenv` / `soap`; 1.2: `soap` / `soap1`).
 */
export function envelope(version, operation, fields) {
  const [env, ns, envUri] = version === '1.1'
    ? ['soapenv', 'soap', 'http://schemas.xmlsoap.org/soap/envelope/']
    : ['soap', 'soap1', 'http://www.w3.org/2003/05/soap-envelope'];
  const body = fields.map(([name, value]) => `         <${ns}:${name}>${xmlText(value)}</${ns}:${name}>`);
  return [
    `<${env}:Envelope xmlns:${env}="${envUri}" xmlns:${ns}="${SERVICE_NS}">`,
    `   <${env}:Header/>`,
    `   <${env}:Body>`,
    `      <${ns}:${operation}Request>`,
    ...body,
    `      </${ns}:${operation}Request>`,
    `   </${env}:Body>`,
    `</${env}:Envelope>`,
  ].join('\n');
}

function shellQuote(text) {
  return `'${String(text).replace(/'/g, `'\\''`)}'`;
}

/**
 * The request as a curl command. The key is written as "$IXGW_KEY" unless `showKey`: the line can
 * then be pasted into a ticket without the key.
 */
export function curlLine(request, showKey) {
  const parts = ['curl'];
  if (request.method !== 'GET') parts.push('-X', request.method);
  for (const [name, value] of Object.entries(request.headers)) {
    if (name === 'Application-Key' && !showKey) parts.push('-H', '"Application-Key: $IXGW_KEY"');
    else parts.push('-H', shellQuote(`${name}: ${value}`));
  }
  if (request.body !== undefined) parts.push('--data-binary', '@request.xml');
  parts.push(shellQuote(request.url));
  return parts.join(' ');
}

/** The XML as sent, one element per line and indented, for reading (text content is unchanged). */
export function indentXml(xml) {
  const tokens = xml.replace(/>\s+</g, '><').split(/(?=<)|(?<=>)/);
  const lines = [];
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (!t) continue;
    if (t.startsWith('</')) {
      depth = Math.max(0, depth - 1);
      lines.push('  '.repeat(depth) + t);
    } else if (t.startsWith('<?') || t.startsWith('<!') || t.endsWith('/>')) {
      lines.push('  '.repeat(depth) + t);
    } else if (t.startsWith('<')) {
      // <a>text</a> stays on one line.
      if (tokens[i + 1] !== undefined && !tokens[i + 1].startsWith('<') && (tokens[i + 2] || '').startsWith('</')) {
        lines.push('  '.repeat(depth) + t + tokens[i + 1] + tokens[i + 2]);
        i += 2;
      } else {
        lines.push('  '.repeat(depth) + t);
        depth++;
      }
    } else {
      lines.push('  '.repeat(depth) + t);
    }
  }
  return lines.join('\n');
}

/** A JSON body indented for reading; the text as received when it is not JSON. */
function readableJson(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function statusLine(x) {
  if (x.error) return x.error;
  return `HTTP ${x.status}${x.statusText ? ` ${x.statusText}` : ''}`;
}

function headerLines(headers) {
  return Object.entries(headers).map(([name, value]) => `${name}: ${value}`).join('\n');
}

/** A code block with a caption and a Copy button (copying `exact`, which may differ from shown). */
function codeBlock(caption, shown, exact, label) {
  const id = `code-${Math.random().toString(36).slice(2)}`;
  return h('figure', { class: 'code' },
    h('figcaption', { id }, caption, ' ', copyButton(`Copy ${label}`, () => exact)),
    h('pre', { tabindex: 0, 'aria-labelledby': id }, h('code', null, shown)));
}

/** The answer half of an exchange: status, headers and body (indented by `readable`). */
function answerBlock(x, readable) {
  const body = x.text === undefined ? '' : x.text;
  const shownBody = body === '' ? '(empty body)' : readable(body);
  return [
    h('p', { class: 'status-line' }, h('strong', null, statusLine(x)),
      x.headers['unauthenticated-reason'] ? ` · Unauthenticated-Reason: ${x.headers['unauthenticated-reason']}` : ''),
    codeBlock('Answer headers', headerLines(x.headers) || '(none shown)', headerLines(x.headers), 'headers'),
    codeBlock(body === '' ? 'Body (empty)' : 'Body (indented for reading; Copy gives the bytes as received)',
      shownBody, body, 'body'),
  ];
}

/** The REST exchange: its curl line and answer. */
export function restPanel(x) {
  const line = h('code', null, curlLine(x.request, false));
  const reveal = h('input', { type: 'checkbox', id: 'show-key' });
  reveal.addEventListener('change', () => { line.textContent = curlLine(x.request, reveal.checked); });
  const id = 'curl-caption';
  return h('section', { class: 'wire', 'aria-labelledby': 'wire-rest' },
    h('h2', { id: 'wire-rest' }, 'REST'),
    h('figure', { class: 'code' },
      h('figcaption', { id }, 'Request ',
        copyButton('Copy curl', () => curlLine(x.request, reveal.checked)),
        h('label', { class: 'inline' }, reveal, ' show the key (else "$IXGW_KEY")')),
      h('pre', { tabindex: 0, 'aria-labelledby': id }, line)),
    answerBlock(x, readableJson));
}

/** A SOAP exchange: the envelope is posted to the real endpoint here, and its reply shown. */
export function soapPanel(c, version, operation, fields) {
  const body = envelope(version, operation, fields);
  const headingId = `wire-soap-${version.replace('.', '')}`;
  const section = h('section', { class: 'wire', 'aria-labelledby': headingId, 'aria-busy': 'true' },
    h('h2', { id: headingId }, `SOAP ${version}`),
    h('p', { class: 'muted' }, `${operation}, posted to the SOAP endpoint with the same headers.`),
    codeBlock('Request envelope (paste into SoapUI)', body, body, 'envelope'));
  const pending = h('p', { class: 'muted' }, 'Waiting for the reply…');
  section.append(pending);
  soap(c, version, body).then((x) => {
    const curl = curlLine(x.request, false);
    pending.replaceWith(codeBlock('The same with curl (the envelope saved as request.xml)', curl, curl, 'curl'),
      ...answerBlock(x, indentXml));
    section.removeAttribute('aria-busy');
  });
  return section;
}
