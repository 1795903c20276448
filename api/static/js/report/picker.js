// A searchable category picker: type part of a Chinese or English name or a code to
// filter the categories of GET /api/v1/categories; arrows + Enter, or a tap, choose.
import { currentLang, t } from './words.js';

const MAX_SHOWN = 40;

// The minor categories as a flat list, each with its major category's names.
export async function loadCategories() {
  const resp = await fetch('/api/v1/categories');
  if (!resp.ok) throw new Error(`categories: HTTP ${resp.status}`);
  const majors = await resp.json();
  return majors.flatMap((major) => major.categories.map((c) => ({
    code: c.code, name: c.name, name_en: c.name_en || '',
    major: major.name, major_en: major.name_en || '',
  })));
}

export function categoryLabel(c) {
  return currentLang() === 'en' && c.name_en ? `${c.name_en} (${c.major_en || c.major})`
    : `${c.name}（${c.major}）`;
}

// Categories matching ``query``: code prefix, or part of a name in either language.
export function matching(categories, query) {
  const q = query.trim().toLowerCase();
  if (!q) return categories.slice(0, MAX_SHOWN);
  return categories.filter((c) => c.code.startsWith(q) || c.name.includes(q)
    || c.major.includes(q) || c.name_en.toLowerCase().includes(q)
    || c.major_en.toLowerCase().includes(q)).slice(0, MAX_SHOWN);
}

export function createPicker({ input, hidden, list, chosen, categories }) {
  let shown = [];
  let active = -1;

  function render() {
    list.replaceChildren();
    shown.forEach((c, i) => {
      const li = document.createElement('li');
      li.id = `category-option-${c.code}`;
      li.setAttribute('role', 'option');
      li.dataset.code = c.code;
      li.setAttribute('aria-selected', String(i === active));
      li.textContent = `${categoryLabel(c)} · ${c.code}`;
      list.append(li);
    });
    if (!shown.length) {
      const li = document.createElement('li');
      li.className = 'empty';
      li.textContent = t('noMatch');
      list.append(li);
    }
    if (active >= 0) input.setAttribute('aria-activedescendant', `category-option-${shown[active].code}`);
    else input.removeAttribute('aria-activedescendant');
  }

  function open() {
    shown = matching(categories, input.value);
    active = -1;
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    render();
  }

  function close() {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
  }

  function choose(c) {
    hidden.value = c.code;
    input.value = categoryLabel(c);
    chosen.textContent = t('chosen', { label: `${categoryLabel(c)} · ${c.code}` });
    close();
  }

  function move(step) {
    if (list.hidden) open();
    if (!shown.length) return;
    active = (active + step + shown.length) % shown.length;
    render();
    list.children[active].scrollIntoView({ block: 'nearest' });
  }

  input.addEventListener('input', () => { hidden.value = ''; chosen.textContent = ''; open(); });
  input.addEventListener('focus', open);
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowDown') { ev.preventDefault(); move(1); }
    else if (ev.key === 'ArrowUp') { ev.preventDefault(); move(-1); }
    else if (ev.key === 'Enter' && !list.hidden) {
      ev.preventDefault();  // choose, do not submit the form
      const c = shown[active >= 0 ? active : 0];
      if (c) choose(c);
    } else if (ev.key === 'Escape') close();
  });
  list.addEventListener('click', (ev) => {
    const li = ev.target.closest('li[data-code]');
    const c = li && shown.find((x) => x.code === li.dataset.code);
    if (c) choose(c);
  });
  document.addEventListener('click', (ev) => {
    if (ev.target !== input && !list.contains(ev.target)) close();
  });

  return {
    relabel() {
      const c = categories.find((x) => x.code === hidden.value);
      if (c) choose(c);
    },
    clear() { hidden.value = ''; input.value = ''; chosen.textContent = ''; close(); },
  };
}
