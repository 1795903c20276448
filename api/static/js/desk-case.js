// The case page: the case, its map, photos before and after, history with actors, the
// reporter (when the role may see it), duplicates and open cases nearby, the building
// record; actions with a department, a note and photos; re-route, re-categorise,
// supervise (督办), pause/extend; keyboard shortcuts for the frequent actions.
import * as maplibregl from '/vendor/maplibre-gl/maplibre-gl.mjs';
import { label, onLangChange } from './i18n.js';
import { actionLabel, channelLabel, statusLabel, w } from './desk-labels.js';
import { dispatchText, esc, fmtTime, request, requireUser, shortcuts } from './desk-common.js';

const CASE_ID = Number(window.location.pathname.split('/').pop());
const API = `/api/v1/workbench/cases/${CASE_ID}`;
//: the key of each frequent action
const KEYS = { dispatch: 'd', accept: 'a', return: 'r', handle: 'h', verify: 'v', reopen: 'o',
               close: 'c', reject: 'x', mark_duplicate: 'm', escalate: 'e', cancel: 'k' };

let me = null;
let current = null;
let departments = [];
let categories = [];
let map = null;

function dl(rows) {
  return rows.filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `<dt>${esc(w(k))}</dt><dd>${esc(v)}</dd>`).join('');
}

function renderSummary(c) {
  const flags = (c.supervised ? `<span class="flag">${esc(w('supervised'))}</span>` : '')
    + (c.escalation_level > 0 ? `<span class="flag">${esc(w('escalation'))}: ${esc(w(`level.${c.escalation_level}`))}</span>` : '')
    + (c.overdue ? `<span class="flag overdue">${esc(w('tab.overdue'))}</span>` : '');
  const grids = Object.values(c.grids || {}).flat().join(', ');
  document.getElementById('case-id').textContent = `#${c.id}`;
  document.title = `#${c.id} · ${w('caseTitle')}`;
  document.getElementById('summary').innerHTML = `
    <p id="status" data-status="${esc(c.status)}">${esc(statusLabel(c.status))} ${flags}</p>
    <dl>${dl([['category', `${c.category} ${c.category_name}`], ['channel', channelLabel(c.channel)],
              ['description', c.description], ['address', c.address || c.building_code],
              ['street', c.street_code], ['community', c.community_code], ['grid', grids],
              ['department', c.department ? c.department.name : w('none')],
              ['reported', fmtTime(c.reported_at)], ['due', fmtTime(c.due_at)],
              ['dispatchTime', `${dispatchText(c.minutes_to_dispatch, c.dispatch_target_minutes)}`
                + ` · ${w('target').replace('{n}', c.dispatch_target_minutes)}`]])}</dl>`;
}

function renderActions(c) {
  const box = document.getElementById('action-buttons');
  box.innerHTML = c.allowed_actions.filter((a) => a !== 'evaluate').map((a) => (
    `<button type="button" data-action="${a}" id="action-${a}">${esc(actionLabel(a))}`
    + `${KEYS[a] ? ` <kbd>${KEYS[a]}</kbd>` : ''}</button>`)).join('') || esc(w('none'));
  box.querySelectorAll('button').forEach((b) => b.addEventListener('click', () => act(b.dataset.action)));
  const sup = document.getElementById('supervise');
  sup.textContent = `${actionLabel(c.supervised ? 'unsupervise' : 'supervise')} (s)`;
  document.getElementById('dispatcher-changes').hidden = !['admin', 'dispatcher'].includes(me.role);
  document.getElementById('dispatch-fields').hidden = !c.allowed_actions.includes('dispatch');
  document.getElementById('duplicate-fields').hidden = !c.allowed_actions.includes('mark_duplicate');
  document.getElementById('shortcut-hint').textContent = `${w('shortcuts')}: `
    + c.allowed_actions.filter((a) => KEYS[a]).map((a) => `${KEYS[a]} ${actionLabel(a)}`).join(' · ')
    + ` · s ${actionLabel('supervise')} · n ${w('note')} · Esc ${w('back')}`;
}

function renderPhotos(c) {
  const group = (stage) => c.photos.filter((p) => p.stage === stage).map((p) => (
    `<a href="${esc(p.url)}"><img src="${esc(p.url)}" alt="${esc(w(stage))} ${p.id}" data-stage="${stage}"></a>`)).join('');
  document.getElementById('photo-list').innerHTML = ['before', 'after'].map((stage) => (
    `<figure><figcaption>${esc(w(stage))}</figcaption>${group(stage) || esc(w('none'))}</figure>`)).join('');
}

function renderHistory(c) {
  document.getElementById('history').innerHTML = c.history.map((h) => (
    `<li><time>${esc(fmtTime(h.at))}</time> <b>${esc(actionLabel(h.action))}</b>`
    + ` → ${esc(statusLabel(h.to_status))} · <span class="actor">${esc(h.actor || 'system')}</span>`
    + `${h.note ? ` — ${esc(h.note)}` : ''}</li>`)).join('');
}

function renderPeople(c) {
  const panel = document.getElementById('reporter-panel');
  panel.hidden = !c.reporter;
  if (c.reporter) {
    document.getElementById('reporter').innerHTML = dl([['name', c.reporter.name], ['phone', c.reporter.phone],
                                                        ['email', c.reporter.email]]);
  }
  document.getElementById('building').innerHTML = c.building
    ? dl([['code', c.building.code], ['name', c.building.name], ['address', c.building.address],
          ['floors', c.building.floors], ['use', c.building.use], ['community', c.building.community_code]])
    : `<dd>${esc(w('none'))}</dd>`;
}

function renderRelated(c) {
  document.getElementById('duplicates').innerHTML = c.duplicates.map((d) => (
    `<li><a href="/desk/cases/${d.id}">#${d.id}</a> ${esc(statusLabel(d.status))} ${esc(fmtTime(d.reported_at))}</li>`
  )).join('') || `<li>${esc(w('none'))}</li>`;
  const canMerge = c.allowed_actions.includes('mark_duplicate');
  document.getElementById('nearby').innerHTML = c.nearby.map((n) => (
    `<li><a href="/desk/cases/${n.id}">#${n.id}</a> ${esc(n.category_name)} · ${esc(statusLabel(n.status))}`
    + ` · ${n.metres} ${esc(w('metres'))}${canMerge ? ` <button type="button" class="merge" data-id="${n.id}">`
    + `${esc(actionLabel('mark_duplicate'))} → #${n.id}</button>` : ''}</li>`)).join('') || `<li>${esc(w('none'))}</li>`;
  document.querySelectorAll('#nearby button.merge').forEach((b) => b.addEventListener('click', () => {
    document.getElementById('duplicate-of').value = b.dataset.id;
    act('mark_duplicate');
  }));
}

function renderMap(c) {
  const points = { type: 'FeatureCollection', features: [
    ...c.nearby.map((n) => ({ type: 'Feature', properties: { kind: 'nearby', id: n.id },
                              geometry: { type: 'Point', coordinates: [n.lon, n.lat] } })),
    { type: 'Feature', properties: { kind: 'case', id: c.id },
      geometry: { type: 'Point', coordinates: [c.location.lon, c.location.lat] } }] };
  if (map) {
    map.getSource('cases').setData(points);
    return;
  }
  map = new maplibregl.Map({ container: 'map', center: [c.location.lon, c.location.lat], zoom: 16,
    attributionControl: false,
    style: { version: 8, sources: {
      buildings: { type: 'vector', tiles: [`${window.location.origin}/tiles/buildings/{z}/{x}/{y}.mvt`] },
      grids: { type: 'vector', tiles: [`${window.location.origin}/tiles/grids-basic/{z}/{x}/{y}.mvt`] },
      cases: { type: 'geojson', data: points } },
    layers: [
      { id: 'bg', type: 'background', paint: { 'background-color': '#eef1f4' } },
      { id: 'buildings', type: 'fill', source: 'buildings', 'source-layer': 'buildings',
        paint: { 'fill-color': '#c9ced6', 'fill-outline-color': '#9aa3ad' } },
      { id: 'grids', type: 'line', source: 'grids', 'source-layer': 'grids-basic',
        paint: { 'line-color': '#33a02c', 'line-width': 1.5 } },
      { id: 'cases', type: 'circle', source: 'cases', paint: {
        'circle-radius': ['match', ['get', 'kind'], 'case', 9, 6],
        'circle-color': ['match', ['get', 'kind'], 'case', '#d7191c', '#fdae61'],
        'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } }] } });
  map.on('load', () => { window.deskMapReady = true; });
}

function render() {
  const c = current;
  renderSummary(c);
  renderActions(c);
  renderPhotos(c);
  renderHistory(c);
  renderPeople(c);
  renderRelated(c);
  renderMap(c);
}

function done(message) {
  const box = document.getElementById('done');
  box.textContent = `${w('done')}: ${message}`;
  box.hidden = false;
}

async function apply(result, what) {
  if (!result) return;
  current = result;
  render();
  await loadDeadlines();
  done(what);
}

async function act(action) {
  if (!current.allowed_actions.includes(action)) return;
  const note = document.getElementById('note').value.trim();
  const form = new FormData();
  form.set('action', action);
  if (note) form.set('note', note);
  if (action === 'dispatch') form.set('department', document.getElementById('department').value);
  if (action === 'mark_duplicate') form.set('duplicate_of', document.getElementById('duplicate-of').value);
  for (const file of document.getElementById('photos').files) form.append('photos', file);
  const result = await request(`${API}/actions`, { method: 'POST', form });
  if (result) {
    document.getElementById('note').value = '';
    document.getElementById('photos').value = '';
  }
  await apply(result, actionLabel(action));
}

async function change(path, json, what) {
  const note = document.getElementById('note').value.trim() || undefined;
  await apply(await request(`${API}/${path}`, { method: 'POST', json: { ...json, note } }), what);
}

async function loadDeadlines() {
  const list = await request(`/api/v1/events/${CASE_ID}/deadline-requests`) || [];
  const decide = ['admin', 'dispatcher'].includes(me.role);
  document.getElementById('deadline-requests').innerHTML = list.map((r) => (
    `<li>${esc(w(r.kind === 'pause' ? 'pause' : 'extend'))} ${r.hours ? `${r.hours} ${esc(w('hours'))}` : ''}`
    + ` · ${esc(r.reason)} · ${esc(w(r.status))}${decide && r.status === 'requested'
      ? ` <button type="button" data-id="${r.id}" data-approve="1">${esc(w('approve'))}</button>`
        + ` <button type="button" data-id="${r.id}" data-approve="">${esc(w('refuse'))}</button>` : ''}</li>`
  )).join('');
  document.querySelectorAll('#deadline-requests button').forEach((b) => b.addEventListener('click', async () => {
    const out = await request(`/api/v1/events/${CASE_ID}/deadline-requests/${b.dataset.id}/decision`,
                              { method: 'POST', json: { approve: Boolean(b.dataset.approve) } });
    if (out) apply(await request(API), w(out.status));
  }));
}

function fillPickers() {
  const opts = (items, text) => items.map((i) => `<option value="${esc(i.code)}">${esc(text(i))}</option>`).join('');
  for (const id of ['department', 'reroute-department']) {
    const sel = document.getElementById(id);
    const keep = sel.value || (current.department && current.department.code) || '';
    sel.innerHTML = opts(departments, (d) => label(d));
    if (keep) sel.value = keep;
  }
  const cat = document.getElementById('category');
  cat.innerHTML = opts(categories, (c) => `${c.code} ${label(c)}`);
  cat.value = current.category;
  document.getElementById('deadline-kind').innerHTML = ['pause', 'extension'].map((k) => (
    `<option value="${k}">${esc(w(k === 'pause' ? 'pause' : 'extend'))}</option>`)).join('');
}

function bind() {
  document.getElementById('supervise').addEventListener('click', () => change(
    'supervise', { supervised: !current.supervised }, actionLabel(current.supervised ? 'unsupervise' : 'supervise')));
  document.getElementById('reroute').addEventListener('click', () => change(
    'route', { department: document.getElementById('reroute-department').value }, actionLabel('reroute')));
  document.getElementById('recategorise').addEventListener('click', () => change(
    'category', { category: document.getElementById('category').value,
                  route: document.getElementById('reroute-by-rules').checked }, actionLabel('recategorise')));
  document.getElementById('deadline-submit').addEventListener('click', async () => {
    const kind = document.getElementById('deadline-kind').value;
    const body = { kind, reason: document.getElementById('deadline-reason').value.trim() };
    if (kind === 'extension') body.hours = Number(document.getElementById('deadline-hours').value);
    const out = await request(`/api/v1/events/${CASE_ID}/deadline-requests`, { method: 'POST', json: body });
    if (out) { await loadDeadlines(); done(w(out.status)); }
  });
  const keys = { Escape: () => window.location.assign(document.getElementById('back').href),
                 n: () => document.getElementById('note').focus(),
                 s: () => document.getElementById('supervise').click() };
  for (const [action, key] of Object.entries(KEYS)) keys[key] = () => act(action);
  shortcuts(keys);
  onLangChange(() => { fillPickers(); render(); });
}

async function start() {
  me = await requireUser();
  if (!me) return;
  if (me.role === 'handler') {
    document.getElementById('back').href = '/desk/inbox';
  }
  const [c, deps, cats] = await Promise.all([request(API), request('/api/v1/workbench/departments'),
                                             request('/api/v1/categories')]);
  if (!c) return;
  current = c;
  departments = deps || [];
  categories = (cats || []).flatMap((m) => m.categories);
  fillPickers();
  bind();
  render();
  await loadDeadlines();
  window.deskCaseReady = true;
}

start();
