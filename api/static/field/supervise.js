// Patrol supervision: a worker's track of a day on the map, the day's coverage per grid and
// the worker's idle periods (GET /api/v1/field/tracks, /coverage, /idle; admin, dispatcher).
import * as maplibregl from '/vendor/maplibre-gl/maplibre-gl.mjs';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(window.location.search);
$('worker').value = params.get('worker') || '';
$('day').value = params.get('day') || new Date().toISOString().slice(0, 10);

const map = new maplibregl.Map({
  container: 'map', center: [114.25, 22.72], zoom: 13,
  style: { version: 8, sources: {
    base: { type: 'vector', tiles: [`${window.location.origin}/tiles/grids-basic,roads/{z}/{x}/{y}.mvt`],
            minzoom: 0, maxzoom: 16 },
    track: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } } },
  layers: [
    { id: 'bg', type: 'background', paint: { 'background-color': '#f6f6f4' } },
    { id: 'roads', type: 'line', source: 'base', 'source-layer': 'roads',
      paint: { 'line-color': '#bbb', 'line-width': 1.5 } },
    { id: 'grids', type: 'line', source: 'base', 'source-layer': 'grids-basic',
      paint: { 'line-color': '#33a02c', 'line-width': 1 } },
    { id: 'track', type: 'line', source: 'track', paint: { 'line-color': '#d62728', 'line-width': 3 } },
  ] },
});

async function get(url) {
  const resp = await fetch(url, { credentials: 'same-origin' });
  if (resp.status === 401) {
    window.location.assign('/sign-in?next=' + encodeURIComponent(window.location.pathname
                                                                  + window.location.search));
  }
  return resp.ok ? resp.json() : null;
}

function cell(text) {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

async function show() {
  const worker = $('worker').value;
  const day = $('day').value;
  const [track, coverage, idle] = await Promise.all([
    get(`/api/v1/field/tracks/${worker}?day=${day}`),
    get(`/api/v1/field/coverage?day=${day}&worker_id=${worker}`),
    get(`/api/v1/field/idle/${worker}?day=${day}`)]);
  if (!track) return;
  map.getSource('track').setData(track);
  const coords = track.features.flatMap((f) => (f.geometry.type === 'Point'
    ? [f.geometry.coordinates] : f.geometry.coordinates));
  if (coords.length) {
    const lons = coords.map((c) => c[0]);
    const lats = coords.map((c) => c[1]);
    map.fitBounds([[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]],
                  { padding: 60, maxZoom: 17, duration: 0 });
  }
  $('summary').textContent = `${track.points} 点 points · ${track.km} km · ${track.hours} h`;
  $('coverage').replaceChildren(...(coverage || []).map((r) => {
    const tr = document.createElement('tr');
    tr.append(cell(r.grid), cell(`${(r.share * 100).toFixed(1)}%`), cell(r.road_m),
              cell(r.hours), cell(r.checkins));
    return tr;
  }));
  $('idle').replaceChildren(...(idle || []).map((p) => {
    const li = document.createElement('li');
    li.textContent = `${p.start.slice(11, 16)}–${p.end.slice(11, 16)} UTC · ${p.minutes} min`;
    return li;
  }));
  window.superviseShown = { points: track.points, grids: (coverage || []).length };
}

$('show').addEventListener('click', show);
map.on('load', () => { if ($('worker').value) show(); });
