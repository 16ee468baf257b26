// The gateway's own routes, called as any client calls them: the Interact REST routes with
// Tenant-Id / Application-Key / Environment-Name, the Context Services routes with ContactCenterId,
// and the SOAP endpoint. The credentials live in this tab's sessionStorage only: they travel as
// request headers, never in a URL, a cookie or a log line.

const STORE = 'ixgw.credentials';

export const INTERACT_VERSION = '2';
export const SOAP_PATH = '/interact/version/2/interactiondata/soap';

export function credentials() {
  try {
    const c = JSON.parse(sessionStorage.getItem(STORE) || 'null');
    return c && typeof c.tenant === 'string' && typeof c.key === 'string' ? c : null;
  } catch {
    return null;
  }
}

export function signIn(tenant, key, environment) {
  sessionStorage.setItem(STORE, JSON.stringify({ tenant, key, environment: environment || '' }));
}

export function signOut() {
  sessionStorage.removeItem(STORE);
}

const seg = encodeURIComponent;

/** The Interact REST path of `rest` (which starts with `/`) for this tenant. */
export function interactPath(c, rest) {
  return `/interact/agent/version/${INTERACT_VERSION}/account/${seg(c.tenant)}${rest}`;
}

export function interactHeaders(c) {
  const headers = { 'Tenant-Id': c.tenant, 'Application-Key': c.key };
  if (c.environment) headers['Environment-Name'] = c.environment;
  return headers;
}

export function contextHeaders(c) {
  const headers = { ContactCenterId: c.tenant, 'Application-Key': c.key };
  if (c.environment) headers['Environment-Name'] = c.environment;
  return headers;
}

/** The headers of an answer worth showing. */
const SHOWN = ['content-type', 'unauthenticated-reason', 'retry-after', 'link', 'x-request-id', 'allow'];

/**
 * One request and its answer, kept whole for the "On the wire" panel:
 * {request: {method, url, headers, body}, status, statusText, headers, text | blob, error}.
 */
export async function exchange(method, path, headers, { body, as = 'text' } = {}) {
  const request = { method, url: new URL(path, location.origin).href, headers, body };
  let response;
  try {
    response = await fetch(path, {
      method, headers, body, cache: 'no-store', credentials: 'omit', redirect: 'error', referrerPolicy: 'no-referrer',
    });
  } catch (e) {
    return { request, status: 0, statusText: '', headers: {}, error: `the gateway could not be reached (${e.message})` };
  }
  const shown = {};
  for (const name of SHOWN) {
    const value = response.headers.get(name);
    if (value !== null) shown[name] = value;
  }
  const result = { request, status: response.status, statusText: response.statusText, headers: shown };
  if (as === 'blob' && response.ok) result.blob = await response.blob();
  else result.text = await response.text();
  return result;
}

export function interact(c, rest, query) {
  const q = query ? `?${query}` : '';
  return exchange('GET', interactPath(c, rest) + q, interactHeaders(c));
}

export function context(c, rest, query) {
  const q = query ? `?${query}` : '';
  return exchange('GET', rest + q, contextHeaders(c));
}

/** A photo's bytes: its path encoded twice, as the vendor's photo route wants it. */
export function photo(c, uniqueId, imagePath, maxSize) {
  const path = interactPath(c, `/photo/${seg(uniqueId)}/${seg(seg(imagePath))}`);
  const q = maxSize ? `?maxSize=${maxSize}` : '';
  return exchange('GET', path + q, interactHeaders(c), { as: 'blob' });
}

export const SOAP_VERSIONS = {
  '1.1': { contentType: 'text/xml;charset=UTF-8', extra: { SOAPAction: '""' } },
  '1.2': { contentType: 'application/soap+xml;charset=UTF-8', extra: {} },
};

export function soap(c, version, envelope) {
  const v = SOAP_VERSIONS[version];
  const headers = { 'Content-Type': v.contentType, ...v.extra, ...interactHeaders(c) };
  return exchange('POST', SOAP_PATH, headers, { body: envelope });
}
