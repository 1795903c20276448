// The one-map: MapLibre GL (served by this app from node_modules) over our own vector tiles.
import * as maplibregl from '/vendor/maplibre-gl/maplibre-gl.mjs';
import { esc, getJSON, paintStyles } from './api.js';
import { Dashboard, choroplethExpression } from './dashboard.js';
import { applyStatic, currentLang, label, onLangChange, setLang, t } from './i18n.js';
import { bindEventViewControls, clusterRadius, eventTilesUrl, eventViewControls } from './event-window.js';
import {
  buildingPopup, cameraPopup, eventPopup, gridPopup, populationPopup, takeAction, useVocabulary,
} from './popups.js';
import { patrolPanel } from './patrol.js';
import { currentUser, loadMe, signInHref, signOut, signedIn } from './session.js';

const GROUPS = ['base', 'operations', 'analysis'];
const EMPTY = { type: 'FeatureCollection', features: [] };
const state = { layers: [], rasters: [], dashboard: null, lastEventId: null, popup: null, live: [],
  analyses: {} };
window.gridgovState = state;  // for tests and the browser console

function title(layer) {
  const tt = layer.title || {};
  return (currentLang() === 'en' ? tt.en : tt.zh) || tt.zh || tt.en || layer.id || layer.name;
}

function kindOf(layerId) {
  if (layerId === 'buildings') return 'building';
  if (layerId === 'events' || layerId === 'live-events') return 'event';
  if (layerId === 'cameras') return 'camera';
  if (layerId === 'population') return 'population';
  if (layerId.startsWith('grids-')) return 'grid';
  return null;
}

function colorExpr(style) {
  const entries = Object.entries(style.colors || {});
  if (!style.color_by || !entries.length) return style.color;
  return ['match', ['to-string', ['get', style.color_by]], ...entries.flat(), style.color];
}

// MapLibre style layers of one registry layer, from its style hints.
function styleLayers(layer) {
  const s = layer.style;
  const base = { source: layer.id, 'source-layer': layer.id, minzoom: layer.minzoom,
                 layout: { visibility: s.visible ? 'visible' : 'none' } };
  const out = [];
  if (s.type === 'fill') {
    out.push({ ...base, id: layer.id, type: 'fill',
               paint: { 'fill-color': colorExpr(s), 'fill-opacity': s.opacity } });
    if (s.outline_color) {
      out.push({ ...base, id: `${layer.id}-outline`, type: 'line',
                 paint: { 'line-color': s.outline_color, 'line-width': 0.6 } });
    }
  } else if (s.type === 'line') {
    if (kindOf(layer.id) === 'grid') {  // invisible fill so a click inside a grid finds it
      out.push({ ...base, id: `${layer.id}-hit`, type: 'fill',
                 paint: { 'fill-color': s.color, 'fill-opacity': 0 } });
    }
    out.push({ ...base, id: layer.id, type: 'line',
               paint: { 'line-color': colorExpr(s), 'line-width': s.width, 'line-opacity': 0.9 } });
  } else {
    out.push({ ...base, id: layer.id, type: 'circle',
               paint: { 'circle-color': colorExpr(s),
                        'circle-radius': layer.id === 'events' ? clusterRadius(s.radius) : s.radius,
                        'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } });
  }
  return out;
}

function baseStyle(config) {
  const style = { version: 8, sources: {}, layers: [
    { id: 'background', type: 'background', paint: { 'background-color': '#eef1f4' } }] };
  if (config && config.basemap) {
    style.sources.basemap = { type: 'raster', tiles: [config.basemap.url], tileSize: 256,
                              attribution: config.basemap.attribution || '' };
    style.layers.push({ id: 'basemap', type: 'raster', source: 'basemap' });
  }
  return style;
}

function addLayers(map) {
  const origin = window.location.origin;
  for (const raster of state.rasters) {
    const id = `raster-${raster.name}`;
    map.addSource(id, { type: 'raster', url: raster.tilejson.replace(/^https?:\/\/[^/]+/, origin),
                        tileSize: 256 });
    map.addLayer({ id, type: 'raster', source: id, layout: { visibility: 'none' },
                   paint: { 'raster-opacity': 0.7 } });
  }
  for (const layer of state.layers) {
    const tiles = layer.id === 'events' ? eventTilesUrl(origin)
      : `${origin}/tiles/${layer.id}/{z}/{x}/{y}.mvt`;
    map.addSource(layer.id, { type: 'vector', minzoom: 0, maxzoom: Math.min(layer.maxzoom, 16),
                              tiles: [tiles] });
    if (kindOf(layer.id) === 'grid' && !map.getLayer('choropleth')) {
      map.addLayer({ id: 'choropleth', type: 'fill', source: layer.id, 'source-layer': layer.id,
                     layout: { visibility: 'none' }, paint: { 'fill-color': '#000', 'fill-opacity': 0.6 } });
    }
    styleLayers(layer).forEach((l) => map.addLayer(l));
  }
  map.addSource('live-events', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'live-events', type: 'circle', source: 'live-events',
                 paint: { 'circle-color': '#dc2626', 'circle-radius': 7, 'circle-opacity': 0.85,
                          'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });
  map.addSource('highlight', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'highlight-fill', type: 'fill', source: 'highlight',
                 filter: ['==', ['geometry-type'], 'Polygon'],
                 paint: { 'fill-color': '#fbbf24', 'fill-opacity': 0.35 } });
  map.addLayer({ id: 'highlight-line', type: 'line', source: 'highlight',
                 paint: { 'line-color': '#f59e0b', 'line-width': 2.5 } });
}

function styleIdsOf(map, layerId) {
  return map.getStyle().layers.filter((l) => l.source === layerId && l.id !== 'choropleth')
    .map((l) => l.id);
}

function setVisible(map, layerId, on) {
  for (const id of styleIdsOf(map, layerId)) map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
  renderLegend(map);
}

function isVisible(map, layerId) {
  const ids = styleIdsOf(map, layerId);
  return ids.length > 0 && map.getLayoutProperty(ids[ids.length - 1], 'visibility') !== 'none';
}

function renderSwitcher(map) {
  const el = document.getElementById('layer-list');
  let html = '';
  for (const group of GROUPS) {
    const members = state.layers.filter((l) => (l.style.group || 'base') === group);
    if (!members.length) continue;
    html += `<div class="group-title">${esc(t(`group.${group}`))}</div>`;
    html += members.map((l) => `<label class="layer-item"><input type="checkbox" data-layer="${esc(l.id)}"
      ${isVisible(map, l.id) ? 'checked' : ''}> ${esc(title(l))}</label>
      ${l.id === 'events' ? eventViewControls() : ''}${analysisNote(l.id)}`).join('');
  }
  if (state.rasters.length) {
    html += `<div class="group-title">${t('group.raster')}</div>`;
    html += state.rasters.map((r) => `<label class="layer-item"><input type="checkbox" data-raster="raster-${esc(r.name)}">
      ${esc(title(r))}</label>`).join('');
  }
  if (map.getLayer('basemap')) {
    html += `<label class="layer-item"><input type="checkbox" data-raster="basemap" checked> ${t('basemap')}</label>`;
  }
  el.innerHTML = html;
  bindEventViewControls(el, () => {
    map.getSource('events').setTiles([eventTilesUrl(window.location.origin)]);
  });
  el.querySelectorAll('input[data-layer]').forEach((box) => box.addEventListener('change', () => {
    setVisible(map, box.dataset.layer, box.checked);
  }));
  el.querySelectorAll('input[data-raster]').forEach((box) => box.addEventListener('change', () => {
    map.setLayoutProperty(box.dataset.raster, 'visibility', box.checked ? 'visible' : 'none');
  }));
}

// When a stored analysis layer (hot spots, blind spots) was computed, or why it is empty.
function analysisNote(layerId) {
  const a = state.analyses[layerId];
  if (!a) return '';
  let text;
  if (!a.computed_at) {
    text = a.refresh_hours ? t('analysis.never').replace('{h}', String(+a.refresh_hours.toFixed(1)))
      : t('analysis.neverManual');
  } else {
    const at = new Date(a.computed_at).toLocaleString(currentLang() === 'zh' ? 'zh-CN' : 'en-GB',
      { dateStyle: 'short', timeStyle: 'short' });
    const key = a.significant ? 'some' : 'none';
    text = t(`analysis.${key}.${layerId}`).replace('{at}', at).replace('{n}', String(a.significant));
  }
  return `<div class="layer-note" data-analysis="${esc(layerId)}">${esc(text)}</div>`;
}

// The label of a value a layer is coloured by: `<layer>.<value>`, else `status.<value>`.
function valueLabel(layerId, value) {
  const own = t(`${layerId}.${value}`);
  return own !== `${layerId}.${value}` ? own : t(`status.${value}`);
}

function swatch(type, color) {
  return `<span class="swatch ${type}" data-bg="${esc(color)}"></span>`;
}

function renderLegend(map) {
  const el = document.getElementById('legend');
  el.innerHTML = state.layers.filter((l) => isVisible(map, l.id)).map((l) => {
    const s = l.style;
    const sub = Object.entries(s.colors || {}).map(([k, c]) => `<div class="legend-item legend-sub">
      ${swatch(s.type, c)} ${esc(valueLabel(l.id, k))}</div>`).join('');
    const cluster = l.id === 'events' ? `<div class="legend-item legend-sub">
      <span class="swatch circle big"></span> ${esc(t('clusterLegend'))}</div>` : '';
    return `<div class="legend-item">${swatch(s.type, s.color)} ${esc(title(l))}</div>${sub}${cluster}`;
  }).join('');
  paintStyles(el);
}

function toast(text) {
  const box = document.createElement('div');
  box.className = 'toast';
  box.textContent = text;
  document.getElementById('toasts').appendChild(box);
  setTimeout(() => box.remove(), 5000);
}

// -- popups -------------------------------------------------------------------------------
async function openPopup(map, lngLat, htmlPromise) {
  if (state.popup) state.popup.remove();
  const popup = new maplibregl.Popup({ maxWidth: '340px' }).setLngLat(lngLat)
    .setHTML('<div class="popup">…</div>').addTo(map);
  state.popup = popup;
  const html = await htmlPromise;
  if (state.popup !== popup) return;
  popup.setHTML(html);
  const el = popup.getElement();
  el.querySelectorAll('a[data-event]').forEach((a) => a.addEventListener('click', (ev) => {
    ev.preventDefault();
    openPopup(map, lngLat, eventPopup(Number(a.dataset.event)));
  }));
  el.querySelectorAll('button[data-action]').forEach((b) => b.addEventListener('click', async () => {
    const done = await takeAction(Number(b.dataset.id), b.dataset.action);
    toast(done ? `#${b.dataset.id} → ${t(`status.${done.status}`)}` : t('unavailable'));
    openPopup(map, lngLat, eventPopup(Number(b.dataset.id)));
  }));
}

function highlight(map, feature) {
  map.getSource('highlight').setData(feature ? { type: 'FeatureCollection', features: [feature] } : EMPTY);
}

const PRIORITY = { event: 0, camera: 1, building: 2, population: 3, grid: 4 };

function onClick(map, e) {
  const hits = map.queryRenderedFeatures(e.point)
    .map((f) => ({ f, kind: kindOf(f.layer.source) }))
    .filter((h) => h.kind !== null)
    .sort((a, b) => PRIORITY[a.kind] - PRIORITY[b.kind]);
  if (!hits.length) { highlight(map, null); return; }
  const { f, kind } = hits[0];
  const geo = { type: 'Feature', geometry: f.geometry, properties: {} };
  if (kind === 'building') {
    highlight(map, geo);
    openPopup(map, e.lngLat, buildingPopup(f));
  } else if (kind === 'event' && f.properties.point_count) {
    map.easeTo({ center: e.lngLat, zoom: Math.min(map.getZoom() + 2, 20) });
  } else if (kind === 'event') {
    highlight(map, null);
    openPopup(map, e.lngLat, eventPopup(f.id ?? f.properties.id, f.properties));
  } else if (kind === 'camera') {
    openPopup(map, e.lngLat, cameraPopup(f, (view) => highlight(map, view)));
  } else if (kind === 'population') {
    highlight(map, geo);
    openPopup(map, e.lngLat, Promise.resolve(populationPopup(f)));
  } else {
    highlight(map, geo);
    const name = f.layer.source.replace(/^grids-/, '');
    openPopup(map, e.lngLat, gridPopup(f, name, state.dashboard));
  }
}

// -- live events ----------------------------------------------------------------------------
// Re-request a vector source's tiles; the server revalidates them by ETag, so unchanged
// tiles cost a 304 and changed ones (an event closed, a new one) come back fresh.
function reloadSource(map, id) {
  const src = map.getSource(id);
  if (src && typeof src.setTiles === 'function' && src.tiles) src.setTiles([...src.tiles]);
}
async function pollLive(map) {
  const status = document.getElementById('live-status');
  status.title = signedIn() ? t('liveEvents') : t('signInForLive');
  if (!signedIn()) { status.classList.remove('on'); return; }
  const url = state.lastEventId === null ? '/api/v1/web/live-events?limit=1'
    : `/api/v1/web/live-events?after_id=${state.lastEventId}`;
  const data = await getJSON(url, { timeout: 4000 });
  status.classList.toggle('on', !!data);
  if (!data) {
    if (!(await loadMe())) signedOut();  // the session ended (expired, or signed out elsewhere)
    return;
  }
  if (state.lastEventId !== null && data.features.length) {
    state.live = [...state.live, ...data.features].slice(-500);
    map.getSource('live-events').setData({ type: 'FeatureCollection', features: state.live });
    data.features.slice(-3).forEach((f) => toast(`${t('newEvent')} #${f.id} ${label(f.properties, 'category_name')}`));
    reloadSource(map, 'events');
    if (state.dashboardObj) state.dashboardObj.refresh();
  }
  state.lastEventId = data.last_id;
}

// -- who is signed in ------------------------------------------------------------------------
function renderUser() {
  const box = document.getElementById('user-box');
  const me = currentUser();
  if (!me) {
    box.innerHTML = `<a id="sign-in-link" href="${esc(signInHref())}">${t('signInLink')}</a>`;
    return;
  }
  box.innerHTML = `<span id="user-name">${esc(me.name)}</span> <small>(${esc(me.role)})</small>
    <button id="sign-out" type="button">${t('signOut')}</button>`;
  document.getElementById('sign-out').addEventListener('click', async () => {
    await signOut();
    signedOut();
  });
}

// Back to what anonymous visitors see: public layers, a sign-in link, the dashboard's prompt.
function signedOut() {
  renderUser();
  state.live = [];
  const map = window.gridgovMap;
  if (map && map.getSource('live-events')) map.getSource('live-events').setData(EMPTY);
  if (map && map.getLayer('choropleth')) map.setLayoutProperty('choropleth', 'visibility', 'none');
  if (state.popup) { state.popup.remove(); state.popup = null; }
  if (state.dashboardObj) state.dashboardObj.refresh();
  if (state.patrol) state.patrol.close();
  document.getElementById('live-status').classList.remove('on');
}

// -- search ---------------------------------------------------------------------------------
async function search(map, q) {
  const out = document.getElementById('search-result');
  out.textContent = '…';
  const query = q.trim();
  if (!query) { out.textContent = ''; return; }
  if (/^\d{1,12}$/.test(query)) {
    const ev = await getJSON(`/ogc/collections/events/items/${query}?f=json`);
    if (ev && ev.geometry) {
      out.textContent = '';
      const [lon, lat] = ev.geometry.coordinates;
      map.flyTo({ center: [lon, lat], zoom: Math.max(map.getZoom(), 16) });
      openPopup(map, [lon, lat], eventPopup(Number(query), ev.properties));
      return;
    }
  }
  const building = await getJSON(`/api/v1/buildings/${encodeURIComponent(query)}`);
  if (building && building.geometry) {
    out.textContent = '';
    fitFeature(map, building);
    const f = { id: undefined, properties: building.properties };
    const ogc = await getJSON(`/ogc/collections/buildings/items?code=${encodeURIComponent(query)}&limit=1&f=json`);
    if (ogc && ogc.features.length) f.id = ogc.features[0].id;
    highlight(map, building);
    openPopup(map, centerOf(building), buildingPopup(f));
    return;
  }
  for (const layer of state.layers.filter((l) => kindOf(l.id) === 'grid')) {
    const hit = await getJSON(`/ogc/collections/${layer.id}/items?code=${encodeURIComponent(query)}&limit=1&f=json`);
    if (hit && hit.features.length) {
      out.textContent = '';
      const g = hit.features[0];
      fitFeature(map, g);
      highlight(map, g);
      openPopup(map, centerOf(g), gridPopup(g, layer.id.replace(/^grids-/, ''), state.dashboard));
      return;
    }
  }
  out.textContent = t('notFound');
}

function coords(geom) {
  const flat = [];
  const walk = (c) => (typeof c[0] === 'number' ? flat.push(c) : c.forEach(walk));
  walk(geom.coordinates);
  return flat;
}

function bboxOf(feature) {
  const pts = coords(feature.geometry);
  const xs = pts.map((p) => p[0]); const ys = pts.map((p) => p[1]);
  return [[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]];
}

function centerOf(feature) {
  const [[a, b], [c, d]] = bboxOf(feature);
  return [(a + c) / 2, (b + d) / 2];
}

function fitFeature(map, feature) {
  map.fitBounds(bboxOf(feature), { padding: 80, maxZoom: 17, duration: 600 });
}

// -- start ----------------------------------------------------------------------------------
async function start() {
  applyStatic();
  const [config, catalog] = await Promise.all([getJSON('/api/v1/web/config'), getJSON('/tiles'),
                                               loadMe()]);
  renderUser();
  useVocabulary(config);
  state.analyses = (config && config.analyses) || {};
  state.layers = (catalog && catalog.layers) || [];
  state.rasters = (catalog && catalog.rasters) || [];
  const extent = config && config.extent;
  const map = new maplibregl.Map({
    container: 'map', style: baseStyle(config), attributionControl: { compact: true },
    bounds: extent ? [[extent[0], extent[1]], [extent[2], extent[3]]] : undefined,
    center: extent ? undefined : [114.25, 22.72], zoom: extent ? undefined : 14,
    fitBoundsOptions: { padding: 20 }, maxZoom: 20,
  });
  window.gridgovMap = map;
  map.addControl(new maplibregl.NavigationControl(), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  map.on('load', () => {
    addLayers(map);
    renderSwitcher(map);
    renderLegend(map);
    map.on('click', (e) => onClick(map, e));
    state.patrol = patrolPanel(map, config, currentUser());
    if (state.patrol) state.patrol.open();
    const dash = new Dashboard(document.getElementById('dashboard'), {
      onFlyTo: (lon, lat, target) => {
        map.flyTo({ center: [lon, lat], zoom: Math.max(map.getZoom(), 16) });
        if (target && target.kind === 'event') openPopup(map, [lon, lat], eventPopup(target.id));
      },
      onChoropleth: (figure, data) => {
        state.dashboard = data;
        if (!map.getLayer('choropleth')) return;
        const gridSource = data && data.grid_layer ? `grids-${data.grid_layer}` : null;
        const c = choroplethExpression(figure, data);
        if (!c || !gridSource || !map.getSource(gridSource)) {
          map.setLayoutProperty('choropleth', 'visibility', 'none');
          return;
        }
        map.setPaintProperty('choropleth', 'fill-color', c.expression);
        map.setLayoutProperty('choropleth', 'visibility', 'visible');
      },
    });
    state.dashboardObj = dash;
    dash.refresh();
    setInterval(() => dash.refresh(), 60000);
    const every = Math.max(1, (config && config.live_poll_seconds) || 2) * 1000;
    pollLive(map);
    setInterval(() => pollLive(map), every);
    setInterval(() => reloadSource(map, 'events'), 30000);
    window.gridgovReady = true;
  });
  document.getElementById('search').addEventListener('submit', (ev) => {
    ev.preventDefault();
    search(map, document.getElementById('search-input').value);
  });
  const langButton = document.getElementById('lang-switch');
  langButton.textContent = t('language');
  langButton.addEventListener('click', () => setLang(currentLang() === 'zh' ? 'en' : 'zh'));
  onLangChange(() => {
    langButton.textContent = t('language');
    renderUser();
    if (state.popup) { state.popup.remove(); state.popup = null; }
    if (map.loaded()) { renderSwitcher(map); renderLegend(map); }
    if (state.dashboardObj) state.dashboardObj.render();
    if (state.patrol) state.patrol.render();
  });
}

start();
