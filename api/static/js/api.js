// Fetch helpers that fail soft: a missing endpoint gives null, never a broken page.

export async function getJSON(url, { timeout = 8000 } = {}) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeout);
  try {
    const resp = await fetch(url, { headers: { Accept: 'application/json' }, signal: ctrl.signal,
                                    credentials: 'same-origin' });
    if (!resp.ok) return null;
    return await resp.json();
  } catch (e) {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

export async function exists(url) {
  try {
    const resp = await fetch(url, { method: 'GET', credentials: 'same-origin' });
    return resp.ok;
  } catch (e) {
    return false;
  }
}

export function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  }[c]));
}

export function fmtTime(value) {
  if (!value) return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function fmtPct(value) {
  return value === null || value === undefined ? '–' : `${(value * 100).toFixed(1)}%`;
}

// Apply the colours and widths that markup built as a string carries in data-bg and
// data-width attributes: the page's Content-Security-Policy refuses inline style attributes.
export function paintStyles(root) {
  root.querySelectorAll('[data-bg]').forEach((el) => { el.style.background = el.dataset.bg; });
  root.querySelectorAll('[data-fg]').forEach((el) => { el.style.color = el.dataset.fg; });
  root.querySelectorAll('[data-width]').forEach((el) => { el.style.width = el.dataset.width; });
}
