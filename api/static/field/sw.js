// Service worker of the field app: the shell (with MapLibre, for the map of my tasks) is
// cached at install and served from the cache (refreshed in the background); vector tiles
// are served from the "field-tiles" cache the app fills for the worker's own grids (z13-z17),
// else from the network (an empty tile without signal). API calls pass through.
const SHELL = 'field-shell-v1';
const TILES = 'field-tiles';
const FILES = ['/static/field/index.html', '/static/field/app.js', '/static/field/queue.js',
               '/static/field/field.css', '/static/field/manifest.json',
               '/static/field/icon.svg', '/static/field/vendor/jsQR.js',
               '/static/field/map.js', '/vendor/maplibre-gl/maplibre-gl.mjs',
               '/vendor/maplibre-gl/maplibre-gl-worker.mjs', '/vendor/maplibre-gl/maplibre-gl.css',
               '/api/v1/categories'];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(SHELL).then((c) => c.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

async function shell(request) {
  const cache = await caches.open(SHELL);
  const hit = await cache.match(request, { ignoreSearch: true });
  const fresh = fetch(request).then((resp) => {
    if (resp.ok) cache.put(request, resp.clone());
    return resp;
  }).catch(() => null);
  return hit || (await fresh) || Response.error();
}

// A tile not cached while there is no signal is empty (204), not a failure of the map.
async function tile(request) {
  const hit = await (await caches.open(TILES)).match(request);
  return hit || fetch(request).catch(() => new Response(null, { status: 204 }));
}

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/tiles/')) {
    event.respondWith(tile(event.request));
  } else if (FILES.includes(url.pathname)) {
    event.respondWith(shell(event.request));
  }
});
