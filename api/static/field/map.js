// The map of "my tasks": each task with a position as a marker, and where I am, on MapLibre
// over our own tiles (the grids, buildings and roads the app caches for offline use).
// MapLibre's worker is started from a blob of its script, fetched through the service
// worker: a worker started from /vendor/ itself would lie outside the app's scope, and the
// map would not start offline. Tapping a marker picks its task (the list shows it).
import * as maplibregl from '/vendor/maplibre-gl/maplibre-gl.mjs';

const WORKER_SCRIPT = '/vendor/maplibre-gl/maplibre-gl-worker.mjs';
const EMPTY = { type: 'FeatureCollection', features: [] };
//: where the map opens before it knows a task or a position (the sample town)
const START = { center: [114.25, 22.72], zoom: 14 };
//: marker colours per task, the same in the legend (field.css, .dot.<task>)
const COLOURS = { handle: '#e67e00', verify: '#1f6fb2', visit: '#7b3fa0' };

export function taskKey(task) {
  return `${task.kind}-${task.id}`;
}

async function useWorkerFromCache() {
  const resp = await fetch(WORKER_SCRIPT);
  if (!resp.ok) throw new Error(`map worker: ${resp.status}`);
  const blob = new Blob([await resp.text()], { type: 'text/javascript' });
  maplibregl.setWorkerUrl(URL.createObjectURL(blob));
}

function style(tileLayers) {
  const tiles = [`${window.location.origin}/tiles/${tileLayers}/{z}/{x}/{y}.mvt`];
  const [grids, buildings, roads] = tileLayers.split(',');
  return {
    version: 8,
    sources: { base: { type: 'vector', tiles, minzoom: 0, maxzoom: 17 },
               tasks: { type: 'geojson', data: EMPTY } },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': '#f4f3ef' } },
      { id: 'buildings', type: 'fill', source: 'base', 'source-layer': buildings,
        paint: { 'fill-color': '#d9d4c7', 'fill-outline-color': '#b9b2a2' } },
      { id: 'roads', type: 'line', source: 'base', 'source-layer': roads,
        paint: { 'line-color': '#ffffff', 'line-width': 3 } },
      { id: 'grids', type: 'line', source: 'base', 'source-layer': grids,
        paint: { 'line-color': '#1f6f43', 'line-width': 1.5, 'line-dasharray': [3, 2] } },
      { id: 'tasks', type: 'circle', source: 'tasks',
        paint: { 'circle-color': ['match', ['get', 'task'], ...Object.entries(COLOURS).flat(),
                                  '#555555'],
                 'circle-radius': ['case', ['get', 'selected'], 12, 9],
                 'circle-stroke-width': ['case', ['get', 'overdue'], 3, 2],
                 'circle-stroke-color': ['case', ['get', 'overdue'], '#b00020', '#ffffff'] } },
    ],
  };
}

function taskFeatures(tasks, selected) {
  return tasks.filter((task) => task.lon != null && task.lat != null).map((task) => ({
    type: 'Feature', geometry: { type: 'Point', coordinates: [task.lon, task.lat] },
    properties: { key: taskKey(task), task: task.task, overdue: !!task.overdue,
                  selected: taskKey(task) === selected },
  }));
}

// The map in `container`; resolves once it has loaded. onPick(key) when a marker is tapped.
export async function createTaskMap(container, { tileLayers, onPick }) {
  await useWorkerFromCache();
  const map = new maplibregl.Map({ container, style: style(tileLayers), ...START, maxZoom: 19,
                                   attributionControl: false });
  await new Promise((resolve) => { map.once('load', resolve); });
  let tasks = [];
  let me = null;
  // Me: a DOM marker, moved without redrawing the map (positions come every second or so).
  const meMarker = new maplibregl.Marker({ element: Object.assign(document.createElement('div'),
                                                                  { className: 'me-marker' }) });
  let selected = null;
  let framed = '';  // what the view was fitted to: '', 'me', 'tasks' or 'tasks+me'

  const draw = () => {
    map.getSource('tasks').setData({ type: 'FeatureCollection',
                                     features: taskFeatures(tasks, selected) });
  };
  // Fit the view to every task, and to me too once my position is known; twice at most
  // (afterwards the worker moves the map as they like). No task: the map centres on me.
  const frame = () => {
    const points = taskFeatures(tasks, null).map((f) => f.geometry.coordinates);
    if (!points.length) {
      if (me && !framed) {
        map.jumpTo({ center: [me.lon, me.lat] });
        framed = 'me';
      }
      return;
    }
    const want = me ? 'tasks+me' : 'tasks';
    if (framed === want || framed === 'tasks+me') return;
    framed = want;
    if (me) points.push([me.lon, me.lat]);
    const lons = points.map((p) => p[0]);
    const lats = points.map((p) => p[1]);
    map.fitBounds([[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]],
                  { padding: 40, maxZoom: 17, duration: 0 });
  };
  map.on('click', 'tasks', (e) => onPick(e.features[0].properties.key));
  map.on('mouseenter', 'tasks', () => { map.getCanvas().classList.add('pointer'); });
  map.on('mouseleave', 'tasks', () => { map.getCanvas().classList.remove('pointer'); });

  return {
    map,
    setTasks(list) { tasks = list; draw(); frame(); },
    meMarker,
    setPosition(position) {
      me = position;
      meMarker.setLngLat([me.lon, me.lat]).addTo(map);
      frame();
    },
    // Mark a task's marker (a tap on the list: the map also moves to it).
    select(key, move = false) {
      selected = key;
      draw();
      const task = tasks.find((item) => taskKey(item) === key);
      if (move && task && task.lon != null) map.easeTo({ center: [task.lon, task.lat], duration: 300 });
    },
  };
}
