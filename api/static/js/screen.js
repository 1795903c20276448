// The leaders' big screen: today's figures, a live map, top categories and the rankings
// (api/screen). It reads /api/v1/screen/summary, and again whenever the workbench's live
// stream (server-sent events) announces a new or changed case, and every minute.
import * as maplibregl from '/vendor/maplibre-gl/maplibre-gl.mjs';
import { esc, fmtPct, getJSON, paintStyles } from './api.js';
import { currentLang, onLangChange, setLang, t } from './i18n.js';
import { loadMe, signInHref } from './session.js';

const WORDS = {
  zh: {
    title: '网格化治理指挥中心', reported: '今日上报', registered: '今日受理', dispatched: '今日派遣',
    closed: '今日结案', closureRate: '结案率', onTimeRate: '按期结案率', dispatchRate: '10分钟派遣率',
    overdue: '超期', streets: '街道考核排名', communities: '社区考核排名', departments: '部门考核排名',
    workers: '网格员考核排名', topCategories: '今日高发类别', none: '暂无数据', live: '实时',
    offline: '连接中断', points: '分', period: '排名统计期',
    scoreNote: '考核得分：结案率30、按期结案率25、10分钟派遣率15、满意度15、未超期15（满分100）；网格员按巡查上报3分、走访2分、打卡1分计。',
    error: '数据加载失败', language: 'English',
  },
  en: {
    title: 'Grid governance command centre', reported: 'Reported today', registered: 'Registered',
    dispatched: 'Dispatched', closed: 'Closed', closureRate: 'Closure rate', onTimeRate: 'On-time closure',
    dispatchRate: 'Dispatched in 10 min', overdue: 'Overdue', streets: 'Streets', communities: 'Communities',
    departments: 'Departments', workers: 'Grid workers', topCategories: 'Top categories today',
    none: 'no data', live: 'live', offline: 'disconnected', points: 'pts', period: 'Rankings over',
    scoreNote: 'Score: closure rate 30, on-time closure 25, dispatched in 10 minutes 15, satisfaction 15, not overdue 15 (of 100); grid workers: 3 points per patrol report, 2 per visit, 1 per check-in.',
    error: 'could not load the figures', language: '中文',
  },
};
const LEVELS = ['street', 'community', 'department', 'grid_worker'];
const REFRESH_MS = 60000;
const MIN_READ_GAP_MS = 5000;
const state = { data: null, refreshes: 0, readAt: 0, colours: {}, map: null, pending: null };
window.gridgovScreen = state;  // for tests and the browser console

function w(key) { return (WORDS[currentLang()] || WORDS.zh)[key] || WORDS.zh[key] || key; }

function applyWords() {
  document.querySelectorAll('[data-s]').forEach((el) => { el.textContent = w(el.dataset.s); });
  document.title = w('title');
  document.getElementById('lang-switch').textContent = w('language');
}

function showError(message) {
  const box = document.getElementById('error');
  box.textContent = message ? `${w('error')}: ${message}` : '';
  box.hidden = !message;
}

function setFigure(id, text) {
  const el = document.getElementById(id);
  if (el.textContent !== text && el.textContent !== '–') {
    el.classList.add('moved');
    setTimeout(() => el.classList.remove('moved'), 4000);
  }
  el.textContent = text;
}

function renderKpis(today) {
  const n = (key) => String(today ? today[key] : 0);
  const pct = (key) => fmtPct(today ? today[key] : null);
  setFigure('kpi-reported', n('reported'));
  setFigure('kpi-registered', n('registered'));
  setFigure('kpi-dispatched', n('dispatched'));
  setFigure('kpi-closed', n('closed'));
  setFigure('kpi-closure', pct('closure_rate'));
  setFigure('kpi-on-time', pct('on_time_closure_rate'));
  setFigure('kpi-dispatch', pct('dispatch_on_target_rate'));
  setFigure('kpi-overdue', n('overdue'));
}

function scoreText(level, row) {
  if (row.score === null || row.score === undefined) return '–';
  return level === 'grid_worker' ? `${row.score} ${w('points')}` : Number(row.score).toFixed(1);
}

function renderRanking(level, rows) {
  const list = document.querySelector(`#rank-${level} ol`);
  list.innerHTML = rows.length ? rows.map((r) => `<li data-key="${esc(r.key)}">
      <span class="rank">${esc(r.rank ?? '–')}</span><span class="name">${esc(r.name)}</span>
      <span class="score">${esc(scoreText(level, r))}</span></li>`).join('')
    : `<li class="empty">${esc(w('none'))}</li>`;
}

function renderCategories(rows) {
  const list = document.querySelector('#categories ol');
  const most = Math.max(1, ...rows.map((r) => r.reported));
  list.innerHTML = rows.length ? rows.map((r) => `<li>
      <span class="name">${esc(currentLang() === 'en' ? r.name_en || r.name : r.name)}</span>
      <span class="bar" data-width="${(100 * r.reported / most).toFixed(1)}%"></span>
      <span class="score">${esc(r.reported)}</span></li>`).join('')
    : `<li class="empty">${esc(w('none'))}</li>`;
  paintStyles(list);
}

function renderLegend(features) {
  const seen = [...new Set(features.map((f) => f.properties.status))].sort();
  const box = document.getElementById('legend');
  box.innerHTML = seen.map((s) => `<span><i data-bg="${esc(state.colours[s] || '#ff7f00')}"></i>`
    + `${esc(t(`status.${s}`))}</span>`).join('');
  paintStyles(box);
}

function render() {
  const d = state.data;
  if (!d) return;
  document.getElementById('day').textContent = d.day;
  renderKpis(d.today);
  for (const level of LEVELS) renderRanking(level, d.rankings[level] || []);
  renderCategories(d.top_categories);
  renderLegend(d.events.features);
  const day = (iso) => new Date(iso).toLocaleDateString('sv-SE', { timeZone: d.timezone });
  document.getElementById('period').textContent =
    `${w('period')}: ${day(d.rankings.from)} – ${day(d.rankings.to)}`;
  const source = state.map && state.map.getSource('today');
  if (source) source.setData(d.events);
}

async function refresh() {
  state.readAt = Date.now();
  let resp;
  try {
    resp = await fetch('/api/v1/screen/summary?top=8', { credentials: 'same-origin',
                                                           headers: { Accept: 'application/json' } });
  } catch (e) {
    showError(String(e.message || e));
    return;
  }
  if (resp.status === 401) {
    window.location.assign(signInHref());
    return;
  }
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    showError(body.message || `HTTP ${resp.status}`);
    return;
  }
  showError('');
  state.data = body;
  state.refreshes += 1;
  render();
  window.gridgovScreenReady = true;
}

// A change makes one read a second later; a burst of them (a batch import) at most one
// read every few seconds.
function refreshSoon() {
  if (state.pending) return;
  const wait = Math.max(1000, MIN_READ_GAP_MS - (Date.now() - state.readAt));
  state.pending = setTimeout(() => { state.pending = null; refresh(); }, wait);
}

function listen() {
  const status = document.getElementById('live-status');
  const source = new EventSource('/api/v1/workbench/live');
  source.addEventListener('ready', () => {
    if (window.gridgovScreenLive) refreshSoon();  // back after a lost connection: catch up
    status.textContent = `● ${w('live')}`;
    status.className = 'on';
    window.gridgovScreenLive = true;
  });
  source.addEventListener('case', refreshSoon);
  source.addEventListener('resync', refreshSoon);
  source.onerror = () => { status.textContent = `● ${w('offline')}`; status.className = 'off'; };
}

function colourExpression() {
  const entries = Object.entries(state.colours);
  return entries.length ? ['match', ['get', 'status'], ...entries.flat(), '#ff7f00'] : '#ff7f00';
}

// Sizes drawn on the map in pixels, scaled with the screen (given for a 1080-pixel height).
function px(n) { return n * Math.max(1, window.innerHeight / 1080); }

function fitMap(map, extent) {
  map.setPaintProperty('today', 'circle-radius', px(5));
  map.setPaintProperty('grids', 'line-width', px(1));
  if (extent) map.fitBounds([[extent[0], extent[1]], [extent[2], extent[3]]], { padding: px(20), animate: false });
}

function startMap(config) {
  const extent = config && config.extent;
  const origin = window.location.origin;
  const style = { version: 8, sources: {
    grids: { type: 'vector', tiles: [`${origin}/tiles/grids-basic/{z}/{x}/{y}.mvt`] },
    today: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } } },
  layers: [{ id: 'bg', type: 'background', paint: { 'background-color': '#0a2138' } }] };
  if (config && config.basemap) {
    style.sources.basemap = { type: 'raster', tiles: [config.basemap.url], tileSize: 256,
                              attribution: config.basemap.attribution || '' };
    style.layers.push({ id: 'basemap', type: 'raster', source: 'basemap',
                        paint: { 'raster-opacity': 0.5 } });
  }
  style.layers.push(
    { id: 'grids', type: 'line', source: 'grids', 'source-layer': 'grids-basic',
      paint: { 'line-color': '#2f7fbf', 'line-width': 1 } },
    { id: 'today', type: 'circle', source: 'today',
      paint: { 'circle-color': colourExpression(), 'circle-radius': 5,
               'circle-stroke-color': '#07192b', 'circle-stroke-width': 1 } });
  state.map = new maplibregl.Map({
    container: 'map', style, attributionControl: false, interactive: true,
    bounds: extent ? [[extent[0], extent[1]], [extent[2], extent[3]]] : undefined,
    center: extent ? undefined : [114.25, 22.72], zoom: extent ? undefined : 13,
    fitBoundsOptions: { padding: 20 } });
  state.map.on('load', () => {
    if (state.data) state.map.getSource('today').setData(state.data.events);
    fitMap(state.map, extent);
    state.map.on('resize', () => fitMap(state.map, extent));
    window.gridgovScreenMapReady = true;
  });
}

// The time of day where the figures are counted (the server's time zone).
function tick() {
  const timeZone = state.data ? state.data.timezone : undefined;
  document.getElementById('clock').textContent = new Date().toLocaleTimeString(
    currentLang() === 'en' ? 'en-GB' : 'zh-CN', { hour12: false, timeZone });
}

async function start() {
  applyWords();
  const me = await loadMe();
  if (!me) {
    window.location.assign(signInHref());
    return;
  }
  document.getElementById('user-name').textContent = me.name;
  const [config, catalog] = await Promise.all([getJSON('/api/v1/web/config'), getJSON('/tiles')]);
  const events = ((catalog && catalog.layers) || []).find((l) => l.id === 'events');
  state.colours = (events && events.style && events.style.colors) || {};
  startMap(config);
  await refresh();
  listen();
  setInterval(refresh, REFRESH_MS);
  tick();
  setInterval(tick, 1000);
  document.getElementById('lang-switch').addEventListener('click',
    () => setLang(currentLang() === 'en' ? 'zh' : 'en'));
  onLangChange(() => { applyWords(); render(); tick(); });
}

start();
