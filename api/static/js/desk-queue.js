// The dispatcher's queue and the handler's inbox: tabs with counts, filters, sorting,
// paging, and live updates by server-sent events (GET /api/v1/workbench/live).
import { label, onLangChange } from './i18n.js';
import { actionLabel, channelLabel, statusLabel, w } from './desk-labels.js';
import { dispatchText, esc, fmtTime, request, requireUser, shortcuts } from './desk-common.js';

const MODE = document.body.dataset.mode;  // 'desk' or 'inbox'
const TABS = MODE === 'inbox'
  ? ['all', 'dispatched', 'in_progress', 'overdue', 'supervised']
  : ['new', 'returned', 'verify', 'closing', 'overdue', 'escalated', 'supervised', 'all'];
const SORTS = ['-reported_at', 'reported_at', 'due_at', 'overdue', '-dispatch', 'id'];
const STATUSES = ['', 'registered', 'dispatched', 'in_progress', 'handled', 'verified', 'returned',
                  'closed', 'evaluated', 'rejected', 'duplicate', 'cancelled'];
const CHANNELS = ['', 'app', 'qr', 'hotline', 'patrol', 'camera', 'open311'];
const LIMIT = 50;

const state = { tab: TABS[0], sort: MODE === 'inbox' ? 'overdue' : '-reported_at', offset: 0,
                filters: {}, page: null, selected: 0, fresh: new Set(), categories: [],
                departments: [] };

function options(select, values, text) {
  const keep = select.value;
  select.innerHTML = values.map((v) => `<option value="${esc(v)}">${esc(text(v))}</option>`).join('');
  select.value = keep || values[0];
}

function fillSelects() {
  options(document.getElementById('f-status'), STATUSES, (s) => (s ? statusLabel(s) : w('any')));
  options(document.getElementById('f-channel'), CHANNELS, (c) => (c ? channelLabel(c) : w('any')));
  options(document.getElementById('f-sort'), SORTS, (s) => w(`sort.${s}`));
  const cats = [''].concat(state.categories.map((c) => c.code));
  const catName = Object.fromEntries(state.categories.map((c) => [c.code, `${c.code} ${label(c)}`]));
  options(document.getElementById('f-category'), cats, (c) => (c ? catName[c] : w('any')));
  const deps = [''].concat(state.departments.map((d) => d.code));
  const depName = Object.fromEntries(state.departments.map((d) => [d.code, label(d)]));
  options(document.getElementById('f-department'), deps, (d) => (d ? depName[d] : w('any')));
  document.getElementById('f-sort').value = state.sort;
}

function queryString() {
  const params = new URLSearchParams({ tab: state.tab, sort: state.sort, limit: LIMIT,
                                       offset: state.offset });
  for (const [key, value] of Object.entries(state.filters)) {
    if (!value) continue;
    params.set(key, key === 'from' || key === 'to' ? new Date(value).toISOString() : value);
  }
  return params.toString();
}

function renderTabs() {
  const counts = (state.page && state.page.counts) || {};
  document.getElementById('tabs').innerHTML = TABS.map((tab, i) => (
    `<button type="button" data-tab="${tab}" class="${tab === state.tab ? 'current' : ''}"`
    + ` title="${i + 1}">${esc(w(`tab.${tab}`))} <b id="count-${tab}">${counts[tab] ?? ''}</b></button>`
  )).join('');
  document.querySelectorAll('#tabs button').forEach((b) => b.addEventListener('click', () => {
    state.tab = b.dataset.tab;
    state.offset = 0;
    load();
  }));
}

function rowHtml(r, i) {
  const classes = [r.overdue ? 'overdue' : '', state.fresh.has(r.id) ? 'fresh' : '',
                   i === state.selected ? 'selected' : ''].join(' ');
  const flags = (r.supervised ? ` <span class="flag">${esc(w('supervised'))}</span>` : '')
    + (r.escalation_level > 0 ? ` <span class="flag">${esc(w(`level.${r.escalation_level}`))}</span>` : '');
  const accept = MODE === 'inbox' && r.status === 'dispatched'
    ? `<button type="button" class="accept" data-id="${r.id}">${esc(actionLabel('accept'))}</button>` : '';
  return `<tr data-id="${r.id}" class="${classes}">
    <td><a href="/desk/cases/${r.id}">${r.id}</a></td>
    <td>${esc(statusLabel(r.status))}${flags}</td>
    <td>${esc(label({ name: r.category_name, name_en: r.category_name_en }))}</td>
    <td class="desc">${esc(r.description || r.address || '')}</td>
    <td>${esc(channelLabel(r.channel))}</td>
    <td>${esc(r.department_name || '')}</td>
    <td>${esc(fmtTime(r.reported_at))}</td>
    <td>${esc(fmtTime(r.due_at))}</td>
    <td>${esc(dispatchText(r.minutes_to_dispatch))}</td>
    <td>${accept}</td></tr>`;
}

function render() {
  renderTabs();
  const page = state.page;
  const rows = page ? page.items : [];
  document.querySelector('#queue tbody').innerHTML = rows.length
    ? rows.map(rowHtml).join('') : `<tr><td colspan="10">${esc(w('none'))}</td></tr>`;
  document.querySelectorAll('#queue tbody tr[data-id]').forEach((tr) => {
    tr.addEventListener('dblclick', () => { window.location.assign(`/desk/cases/${tr.dataset.id}`); });
  });
  document.querySelectorAll('#queue button.accept').forEach((b) => b.addEventListener('click', async () => {
    const done = await request(`/api/v1/workbench/cases/${b.dataset.id}/actions`,
                               { method: 'POST', json: { action: 'accept' } });
    if (done) load();
  }));
  const total = page ? page.total : 0;
  document.getElementById('page-info').textContent = total
    ? `${state.offset + 1}–${Math.min(state.offset + LIMIT, total)} / ${total}` : '0';
  document.getElementById('prev').disabled = state.offset === 0;
  document.getElementById('next').disabled = state.offset + LIMIT >= total;
}

let loading = null;
async function load() {
  const mine = queryString();
  loading = mine;
  const page = await request(`/api/v1/workbench/queue?${mine}`);
  if (loading !== mine) return;  // a later request won
  if (page) {
    state.page = page;
    state.selected = Math.min(state.selected, Math.max(0, page.items.length - 1));
  }
  render();
  window.deskQueueReady = true;
}

let reload = null;
function soon() {  // several changes arriving together reload the page once
  clearTimeout(reload);
  reload = setTimeout(load, 150);
}

function live() {
  const status = document.getElementById('live-status');
  const source = new EventSource('/api/v1/workbench/live');
  source.addEventListener('ready', () => {
    status.textContent = `● ${w('live')}`;
    status.className = 'on';
    window.deskLiveReady = true;
  });
  source.addEventListener('case', (ev) => {
    const row = JSON.parse(ev.data);
    state.fresh.add(row.id);
    window.deskLastLive = row.id;
    soon();
  });
  source.addEventListener('resync', soon);
  source.onerror = () => {
    status.textContent = `○ ${w('liveOff')}`;
    status.className = 'off';
    window.deskLiveReady = false;
  };
}

function move(step) {
  const n = state.page ? state.page.items.length : 0;
  if (!n) return;
  state.selected = (state.selected + step + n) % n;
  render();
}

function bind() {
  const form = document.getElementById('filters');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    state.sort = data.get('sort') || state.sort;
    state.filters = Object.fromEntries([...data.entries()].filter(([k]) => k !== 'sort'));
    state.offset = 0;
    load();
  });
  form.addEventListener('reset', () => {
    state.filters = {};
    state.offset = 0;
    setTimeout(() => { fillSelects(); load(); }, 0);
  });
  document.getElementById('prev').addEventListener('click', () => {
    state.offset = Math.max(0, state.offset - LIMIT);
    load();
  });
  document.getElementById('next').addEventListener('click', () => {
    state.offset += LIMIT;
    load();
  });
  const keys = { j: () => move(1), k: () => move(-1), ArrowDown: () => move(1), ArrowUp: () => move(-1),
                 '/': () => document.getElementById('f-q').focus(),
                 Enter: () => {
                   const r = state.page && state.page.items[state.selected];
                   if (r) window.location.assign(`/desk/cases/${r.id}`);
                 } };
  TABS.forEach((tab, i) => { keys[String(i + 1)] = () => { state.tab = tab; state.offset = 0; load(); }; });
  shortcuts(keys);
  onLangChange(() => { fillSelects(); render(); });
}

async function start() {
  if (!(await requireUser())) return;
  const [cats, deps] = await Promise.all([request('/api/v1/categories'),
                                          request('/api/v1/workbench/departments')]);
  state.categories = (cats || []).flatMap((m) => m.categories);
  state.departments = deps || [];
  fillSelects();
  bind();
  live();
  await load();
}

start();
