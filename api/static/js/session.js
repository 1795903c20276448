// Who is signed in. The session cookie is HttpOnly, so the page never holds a credential:
// it asks GET /api/v1/auth/me, keeps the CSRF token of the session in memory only, and
// sends it as X-CSRF-Token on every change.
let me = null;

export async function loadMe() {
  try {
    const resp = await fetch('/api/v1/auth/me', { credentials: 'same-origin',
                                                  headers: { Accept: 'application/json' } });
    me = resp.ok ? await resp.json() : null;
  } catch (e) {
    me = null;
  }
  return me;
}

export function currentUser() { return me; }

export function signedIn() { return me !== null; }

export function signInHref() {
  const here = window.location.pathname + window.location.search;
  return here === '/' ? '/sign-in' : `/sign-in?next=${encodeURIComponent(here)}`;
}

// A JSON request with the cookie; changes carry the session's CSRF token. null on failure.
export async function sendJSON(url, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && me && me.csrf_token) headers['X-CSRF-Token'] = me.csrf_token;
  try {
    const resp = await fetch(url, { method, headers, credentials: 'same-origin',
                                    body: body === undefined ? undefined : JSON.stringify(body) });
    return resp.ok ? await resp.json() : null;
  } catch (e) {
    return null;
  }
}

export async function signOut() {
  const headers = me && me.csrf_token ? { 'X-CSRF-Token': me.csrf_token } : {};
  try {
    await fetch('/api/v1/auth/logout', { method: 'POST', credentials: 'same-origin', headers });
  } finally {
    me = null;
  }
}
