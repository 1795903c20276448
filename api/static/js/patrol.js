// The one-map's patrol tracks panel, for supervisors (the roles the web config names, those
// of the supervision API): pick a day and a grid worker of your scope -> the day's track as
// a line, the plate check-ins as points, a replay marker moving along the track in time
// order, and the day's road coverage per grid (a choropleth on the grid layer and a list).
// Tracks are personal data: they come from the audited supervision API
// (/api/v1/field/tracks, /checkins, /coverage), never from a tile layer.
import { getJSON } from './api.js';
import { t } from './i18n.js';

const EMPTY = { type: 'FeatureCollection', features: [] };
const REPLAY_STEP_MS = 250;
//: coverage colours: no road patrolled -> every road patrolled
const SHARE_COLOURS = [0, '#ef4444', 0.5, '#f59e0b', 1, '#16a34a'];

const $ = (id) => document.getElementById(id);

function addLayers(map, gridSource) {
  for (const id of ['patrol-track', 'patrol-checkins', 'patrol-replay']) {
    map.addSource(id, { type: 'geojson', data: EMPTY });
  }
  if (map.getSource(gridSource)) {  // under the live events and the highlight
    map.addLayer({ id: 'patrol-coverage', type: 'fill', source: gridSource,
                   'source-layer': gridSource, filter: ['==', ['get', 'code'], ''],
                   paint: { 'fill-color': '#000', 'fill-opacity': 0.45 } },
                 map.getLayer('live-events') ? 'live-events' : undefined);
  }
  map.addLayer({ id: 'patrol-track', type: 'line', source: 'patrol-track',
                 filter: ['==', ['geometry-type'], 'LineString'],
                 layout: { 'line-join': 'round', 'line-cap': 'round' },
                 paint: { 'line-color': '#7c3aed', 'line-width': 4 } });
  map.addLayer({ id: 'patrol-checkins', type: 'circle', source: 'patrol-checkins',
                 paint: { 'circle-color': ['case', ['get', 'flagged'], '#f97316', '#0ea5e9'],
                          'circle-radius': 7, 'circle-stroke-color': '#fff',
                          'circle-stroke-width': 2 } });
  map.addLayer({ id: 'patrol-replay', type: 'circle', source: 'patrol-replay',
                 paint: { 'circle-color': '#111827', 'circle-radius': 8,
                          'circle-stroke-color': '#fde047', 'circle-stroke-width': 3 } });
}

// The track's positions in time order: [{t, lon, lat}], from its lines (and lone points).
export function replayPoints(track) {
  const out = [];
  for (const f of track.features) {
    const coords = f.geometry.type === 'Point' ? [f.geometry.coordinates] : f.geometry.coordinates;
    coords.forEach(([lon, lat], i) => out.push({ t: f.properties.times[i], lon, lat }));
  }
  return out.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
}

function cell(row, text) {
  const td = document.createElement('td');
  td.textContent = text;
  row.append(td);
}

function clock(iso) {
  return new Date(iso).toLocaleTimeString('en-GB', { hour12: false });
}

function fit(map, points) {
  if (!points.length) return;
  const lons = points.map((p) => p.lon);
  const lats = points.map((p) => p.lat);
  map.fitBounds([[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]],
                { padding: 60, maxZoom: 17, duration: 0 });
}

class PatrolPanel {
  constructor(map, gridLayer) {
    this.map = map;
    this.gridSource = `grids-${gridLayer}`;
    this.points = [];
    this.shown = null;
    this.timer = null;
    addLayers(map, this.gridSource);
    $('patrol-day').value = new Date().toLocaleDateString('sv');  // YYYY-MM-DD, local day
    $('patrol-day').addEventListener('change', () => this.loadWorkers());
    $('patrol-panel').addEventListener('toggle', () => {
      if ($('patrol-panel').open && !$('patrol-worker').options.length) this.loadWorkers();
    });
    $('patrol-show').addEventListener('click', () => this.show());
    $('patrol-play').addEventListener('click', () => this.togglePlay());
    $('patrol-slider').addEventListener('input', () => this.moveTo(Number($('patrol-slider').value)));
  }

  // Shown, closed: opening it lists the workers (no worker's data is read before).
  open() {
    $('patrol-panel').hidden = false;
  }

  // Back to nothing shown (signed out): the panel hidden, the layers empty.
  close() {
    $('patrol-panel').hidden = true;
    $('patrol-panel').open = false;
    $('patrol-worker').replaceChildren();
    this.stop();
    this.points = [];
    this.shown = null;
    for (const id of ['patrol-track', 'patrol-checkins', 'patrol-replay']) {
      this.map.getSource(id).setData(EMPTY);
    }
    if (this.map.getLayer('patrol-coverage')) {
      this.map.setFilter('patrol-coverage', ['==', ['get', 'code'], '']);
    }
    $('patrol-coverage').replaceChildren();
    $('patrol-summary').textContent = '';
  }

  // The grid workers of your scope (the KPI list of the day gives their km too).
  async loadWorkers() {
    const rows = await getJSON(`/api/v1/stats/workers?start=${$('patrol-day').value}`) || [];
    const select = $('patrol-worker');
    const keep = select.value;
    select.replaceChildren(...rows.map((w) => {
      const o = document.createElement('option');
      o.value = String(w.worker_id);
      o.textContent = `${w.name} · ${w.patrol_km} km`;
      return o;
    }));
    if (rows.some((w) => String(w.worker_id) === keep)) select.value = keep;
    $('patrol-show').disabled = !rows.length;
    $('patrol-summary').textContent = rows.length ? '' : t('patrol.noWorkers');
  }

  async show() {
    const worker = $('patrol-worker').value;
    const day = $('patrol-day').value;
    if (!worker || !day) return;
    this.stop();
    const [track, checkins, coverage] = await Promise.all([
      getJSON(`/api/v1/field/tracks/${worker}?day=${day}`),
      getJSON(`/api/v1/field/checkins/${worker}?day=${day}`),
      getJSON(`/api/v1/field/coverage?day=${day}&worker_id=${worker}`)]);
    if (!track) { $('patrol-summary').textContent = t('unavailable'); return; }
    this.map.getSource('patrol-track').setData(track);
    this.map.getSource('patrol-checkins').setData(checkins || EMPTY);
    this.points = replayPoints(track);
    $('patrol-slider').max = String(Math.max(0, this.points.length - 1));
    $('patrol-play').disabled = this.points.length < 2;
    this.moveTo(0);
    this.paintCoverage(coverage || []);
    fit(this.map, [...this.points, ...(checkins || EMPTY).features.map((f) => (
      { lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1] }))]);
    this.shown = { worker: Number(worker), day, track, checkins: (checkins || EMPTY).features.length,
                   grids: (coverage || []).length };
    this.render();
  }

  // The texts that depend on the language: the play button and the day's summary.
  render() {
    $('patrol-play').textContent = t(this.timer ? 'patrol.pause' : 'patrol.play');
    if (!this.shown) return;
    const { track, checkins } = this.shown;
    $('patrol-summary').textContent = (track.points ? t('patrol.summary') : t('patrol.empty'))
      .replace('{n}', track.points).replace('{km}', track.km).replace('{h}', track.hours)
      .replace('{c}', checkins);
  }

  paintCoverage(rows) {
    $('patrol-coverage').replaceChildren(...rows.map((r) => {
      const tr = document.createElement('tr');
      cell(tr, r.grid);
      cell(tr, `${(r.share * 100).toFixed(1)}%`);
      cell(tr, r.hours);
      cell(tr, r.checkins);
      return tr;
    }));
    if (!this.map.getLayer('patrol-coverage')) return;
    const codes = rows.map((r) => r.grid);
    this.map.setFilter('patrol-coverage', ['in', ['get', 'code'], ['literal', codes]]);
    if (rows.length) {
      const share = ['match', ['get', 'code'], ...rows.flatMap((r) => [r.grid, r.share]), 0];
      this.map.setPaintProperty('patrol-coverage', 'fill-color',
                                ['interpolate', ['linear'], share, ...SHARE_COLOURS]);
    }
  }

  // The replay marker at the i-th position of the day, with its time.
  moveTo(i) {
    const p = this.points[i];
    $('patrol-slider').value = String(i);
    $('patrol-time').textContent = p ? clock(p.t) : '';
    this.map.getSource('patrol-replay').setData(p ? { type: 'FeatureCollection', features: [{
      type: 'Feature', geometry: { type: 'Point', coordinates: [p.lon, p.lat] },
      properties: { t: p.t, index: i } }] } : EMPTY);
  }

  togglePlay() {
    if (this.timer) { this.stop(); return; }
    let i = Number($('patrol-slider').value);
    if (i >= this.points.length - 1) i = 0;
    this.timer = setInterval(() => {
      i += 1;
      this.moveTo(i);
      if (i >= this.points.length - 1) this.stop();
    }, REPLAY_STEP_MS);
    this.render();
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.render();
  }
}

// The panel on `map` when `user` supervises patrols (config.patrol.roles), else null.
export function patrolPanel(map, config, user) {
  const patrol = config && config.patrol;
  if (!patrol || !user || !patrol.roles.includes(user.role)) return null;
  return new PatrolPanel(map, patrol.grid_layer);
}
