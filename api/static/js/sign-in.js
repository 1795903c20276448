// The sign-in page: posts the name and password as JSON; the server sets the session cookie
// (HttpOnly: this script never sees it), then the page goes to ?next= or the one-map.
import { applyStatic, currentLang, onLangChange, setLang, t } from './i18n.js';

// Same-origin paths only: '/x' but not '//host', '/\host' or 'https://host'.
export function safeNext(value) {
  return value && value.length <= 2000 && /^\/(?![/\\])[^\u0000-\u001f\\]*$/.test(value) ? value : '/';
}

const params = new URLSearchParams(window.location.search);
const next = safeNext(params.get('next'));
// Without ?next=, each role lands where its work is: dispatchers on the queue, handlers
// on their department's inbox, leaders on the big screen, grid workers in the field app,
// everyone else on the one-map.
const LANDING = { dispatcher: '/desk', handler: '/desk/inbox', leader: '/screen',
                  grid_worker: '/field' };
let shown = null;  // the error on display, re-translated when the language changes

function showError(code, retry) {
  shown = { code, retry };
  const box = document.getElementById('sign-in-error');
  const known = ['invalid_credentials', 'too_many_attempts', 'network'].includes(code);
  box.textContent = t(known ? `error.${code}` : 'error.other').replace('{n}', retry || '60');
  box.hidden = false;
}

async function submit(ev) {
  ev.preventDefault();
  const form = ev.target;
  const button = document.getElementById('sign-in-submit');
  button.disabled = true;
  try {
    const resp = await fetch('/api/v1/auth/login', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ name: form.elements.name.value, password: form.elements.password.value }),
    });
    if (resp.ok) {
      const signedIn = await resp.json().catch(() => ({}));
      const role = signedIn.user && signedIn.user.role;
      window.location.assign(params.get('next') ? next : (LANDING[role] || '/'));
      return;
    }
    const body = await resp.json().catch(() => ({}));
    form.elements.password.value = '';
    showError(body.code, resp.headers.get('Retry-After'));
  } catch (e) {
    showError('network');
  } finally {
    button.disabled = false;
  }
}

function start() {
  applyStatic();
  document.title = `${t('signInTitle')} · ${t('title')}`;
  document.getElementById('sign-in-next').value = next;
  document.getElementById('sign-in-form').addEventListener('submit', submit);
  if (params.get('error')) showError(params.get('error'), params.get('retry'));
  const langButton = document.getElementById('lang-switch');
  langButton.textContent = t('language');
  langButton.addEventListener('click', () => setLang(currentLang() === 'zh' ? 'en' : 'zh'));
  onLangChange(() => {
    langButton.textContent = t('language');
    document.title = `${t('signInTitle')} · ${t('title')}`;
    if (shown) showError(shown.code, shown.retry);
  });
  window.gridgovSignInReady = true;
}

start();
