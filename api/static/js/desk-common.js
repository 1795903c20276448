// What the workbench pages share: sign-in check, the header, requests that report errors
// with the server's message, and times.
import { currentLang, setLang, onLangChange } from './i18n.js';
import { currentUser, loadMe, signInHref, signOut } from './session.js';
import { applyWords, w } from './desk-labels.js';

export { esc, fmtTime } from './api.js';

// The signed-in user, or a trip to the sign-in page (coming back here afterwards).
export async function requireUser() {
  const me = await loadMe();
  if (!me) {
    window.location.assign(signInHref());
    return null;
  }
  const box = document.getElementById('user-name');
  if (box) box.textContent = me.name;
  const out = document.getElementById('sign-out');
  if (out) {
    out.addEventListener('click', async () => {
      await signOut();
      window.location.assign('/sign-in');
    });
  }
  const lang = document.getElementById('lang-switch');
  lang.textContent = w('language');
  lang.addEventListener('click', () => setLang(currentLang() === 'zh' ? 'en' : 'zh'));
  onLangChange(() => { lang.textContent = w('language'); applyWords(); });
  applyWords();
  return me;
}

// Show an error (the server's message, not a code) until the next success.
export function showError(message) {
  const box = document.getElementById('error');
  box.textContent = message ? `${w('error')}: ${message}` : '';
  box.hidden = !message;
}

// A request with the session cookie and, for changes, its CSRF token.
// Resolves to the JSON body; on failure shows the server's message and resolves to null.
export async function request(url, { method = 'GET', json, form } = {}) {
  const headers = { Accept: 'application/json' };
  const me = currentUser();
  if (method !== 'GET' && me && me.csrf_token) headers['X-CSRF-Token'] = me.csrf_token;
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  try {
    const resp = await fetch(url, { method, headers, body, credentials: 'same-origin' });
    const data = await resp.json().catch(() => ({}));
    if (resp.status === 401) {
      window.location.assign(signInHref());
      return null;
    }
    if (!resp.ok) {
      showError(data.message || `HTTP ${resp.status}`);
      return null;
    }
    showError('');
    return data;
  } catch (e) {
    showError(String(e.message || e));
    return null;
  }
}

// Minutes from discovery to dispatch, with the target's verdict.
export function dispatchText(minutes, target = 10) {
  if (minutes === null || minutes === undefined) return w('notDispatched');
  const verdict = minutes <= target ? w('onTarget') : w('offTarget');
  return `${minutes} ${w('minutes')} (${verdict})`;
}

// Keyboard shortcuts: key -> function, ignored while typing in a field.
export function shortcuts(table) {
  document.addEventListener('keydown', (ev) => {
    const tag = (ev.target && ev.target.tagName) || '';
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (['INPUT', 'TEXTAREA', 'SELECT'].includes(tag) && ev.key !== 'Escape') return;
    const fn = table[ev.key];
    if (fn) {
      ev.preventDefault();
      fn(ev);
    }
  });
}
