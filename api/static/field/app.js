// The grid worker's app: my tasks (cases, visits to record, declarations to verify), reports
// (channel patrol), patrol shifts with their track, plate check-ins, and the outbox that sends
// everything made offline once, in order.
import { createTaskMap, taskKey } from '/static/field/map.js';
import { enqueue, flush, items, newKey, retryFailed } from '/static/field/queue.js';

const TEXT = {
  zh: { title: '网格员', refresh: '刷新', category: '事件类别', searchCategory: '搜索类别',
        description: '描述', photos: '照片', building: '建筑', scanForReport: '扫门牌',
        position: '位置', submitReport: '上报', patrolStart: '开始巡查', patrolStop: '结束巡查',
        scanCamera: '扫描门牌二维码', scanPhoto: '拍摄门牌', pending: '待发送', retry: '重试',
        offlineMap: '离线地图', cacheTiles: '缓存我的网格 (z13–z17)', tabTasks: '任务',
        tabReport: '上报', tabPatrol: '巡查', tabCheckin: '签到', tabQueue: '队列',
        online: '在线', offline: '离线', queued: '已保存，联网后发送', noPosition: '未定位',
        patrolling: '巡查中，已记录 {n} 个位置', patrolIdle: '未在巡查', noQr: '未识别到二维码',
        checkedIn: '已签到：{code}', handle: '处置', verify: '核查', visit: '走访',
        overdue: '已超期', noTasks: '暂无任务', failed: '失败', tilesDone: '已缓存 {n} 个瓦片',
        tilesBudget: '超出空间预算，已停止', report: '上报', checkin: '签到', shift: '巡查开始',
        stop: '巡查结束', points: '轨迹点', mapMe: '我的位置', lang: 'English',
        declarations: '入住申报待核实', declVerify: '核实', declReject: '驳回',
        declVerified: '已核实：{name} 入住 {room}', declRejected: '已驳回：{name}',
        needOnline: '需联网后操作', resident: '居住', tenant: '租住', owner: '自有',
        visitRecord: '记录走访', visitNotes: '走访情况', visitFindings: '发现问题',
        visitSubmit: '提交走访', cancel: '取消', visitQueued: '走访已保存：{room}，联网后发送' },
  en: { title: 'Grid worker', refresh: 'Refresh', category: 'Category',
        searchCategory: 'Search categories', description: 'Description', photos: 'Photos',
        building: 'Building', scanForReport: 'Scan plate', position: 'Position',
        submitReport: 'Report', patrolStart: 'Start patrol', patrolStop: 'Stop patrol',
        scanCamera: 'Scan a plate QR code', scanPhoto: 'Photograph a plate', pending: 'Waiting',
        retry: 'Retry', offlineMap: 'Offline map', cacheTiles: 'Cache my grids (z13–z17)',
        tabTasks: 'Tasks', tabReport: 'Report', tabPatrol: 'Patrol', tabCheckin: 'Check in',
        tabQueue: 'Queue', online: 'online', offline: 'offline',
        queued: 'Saved; sent when online', noPosition: 'no position',
        patrolling: 'Patrolling, {n} positions recorded', patrolIdle: 'Not patrolling',
        noQr: 'No QR code found', checkedIn: 'Checked in: {code}', handle: 'handle',
        verify: 'verify', visit: 'visit', overdue: 'overdue', noTasks: 'No tasks',
        failed: 'failed', tilesDone: '{n} tiles cached', tilesBudget: 'Over the size budget; stopped',
        report: 'Report', checkin: 'Check-in', shift: 'Patrol start', stop: 'Patrol end',
        points: 'Track points', mapMe: 'Me', lang: '中文',
        declarations: 'Residence declarations to verify', declVerify: 'Verify',
        declReject: 'Reject', declVerified: 'Verified: {name} lives in {room}',
        declRejected: 'Rejected: {name}', needOnline: 'Needs a connection',
        resident: 'lives here', tenant: 'tenant', owner: 'owner',
        visitRecord: 'Record a visit', visitNotes: 'Notes', visitFindings: 'Findings',
        visitSubmit: 'Save visit', cancel: 'Cancel',
        visitQueued: 'Visit saved: {room}; sent when online' },
};
//: the offline map's size budget, shown in the app
const TILE_BUDGET_MB = 50;
const TILE_LAYERS = 'grids-basic,buildings,roads';
const BATCH_POINTS = 10;
const BATCH_SECONDS = 15;

const $ = (id) => document.getElementById(id);
let lang = localStorage.getItem('field-lang') || 'zh';
let me = JSON.parse(localStorage.getItem('field-me') || 'null');
let position = null;
let plateForReport = null;
let patrol = JSON.parse(localStorage.getItem('field-patrol') || 'null');
let buffer = [];
let lastBatch = Date.now();
let recorded = 0;
let categories = [];
let taskMap = null;  // a promise of the map of my tasks (map.js)

function t(key, vars = {}) {
  return (TEXT[lang][key] || key).replace(/\{(\w+)\}/g, (_, k) => vars[k]);
}

function applyLanguage() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll('[data-i18n-placeholder]').forEach((el) => {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  });
  $('lang').textContent = t('lang');
  renderCategories();
  renderPatrol();
  renderNet();
}

// -- who is signed in --------------------------------------------------------------------------
async function loadMe() {
  try {
    const resp = await fetch('/api/v1/auth/me', { credentials: 'same-origin' });
    if (resp.status === 401) {
      window.location.assign('/sign-in?next=' + encodeURIComponent('/static/field/index.html'));
      return null;
    }
    if (resp.ok) {
      me = await resp.json();
      localStorage.setItem('field-me', JSON.stringify(me));
    }
  } catch (e) { /* offline: the last known user */ }
  $('who').textContent = me ? `${me.name} · ${me.grids.join(', ')}` : '';
  return me;
}

// -- the outbox ----------------------------------------------------------------------------------
async function send() {
  if (!navigator.onLine) return renderQueue();
  await loadMe();
  await flush(me && me.csrf_token, () => {});
  return renderQueue();
}

async function queue(item) {
  await enqueue(item);
  await renderQueue();
  send();
}

async function renderQueue() {
  const all = await items();
  $('queue-count').textContent = all.length;
  $('nav-count').textContent = all.length ? `(${all.length})` : '';
  $('queue-list').replaceChildren(...all.map((item) => {
    const li = document.createElement('li');
    li.textContent = `${t(item.kind)} · ${item.label || ''} · ${item.created.slice(11, 19)}`
      + (item.error ? ` · ${t('failed')} ${item.error}` : '');
    if (item.state === 'failed') li.className = 'failed';
    return li;
  }));
  window.fieldApp.queued = all.length;
}

function renderNet() {
  const on = navigator.onLine;
  $('net').dataset.state = on ? 'online' : 'offline';
  $('net').textContent = t(on ? 'online' : 'offline');
}

// -- position ------------------------------------------------------------------------------------
function onPosition(p) {
  const first = position === null;
  position = { lon: p.coords.longitude, lat: p.coords.latitude, accuracy: p.coords.accuracy,
               t: new Date(p.timestamp).toISOString() };
  $('report-position').textContent = `${position.lon.toFixed(6)}, ${position.lat.toFixed(6)} `
    + `±${Math.round(position.accuracy)} m`;
  if (patrol) record(position);
  taskMap.then((m) => m.setPosition(position)).catch(() => {});
  if (first) loadTasks();  // now sorted by distance from me
}

function watchPosition() {
  if (!navigator.geolocation) return;
  navigator.geolocation.watchPosition(onPosition, () => {}, { enableHighAccuracy: true,
                                                              maximumAge: 0 });
}

// -- patrol --------------------------------------------------------------------------------------
function record(p) {
  buffer.push(p);
  recorded += 1;
  if (buffer.length >= BATCH_POINTS || Date.now() - lastBatch > BATCH_SECONDS * 1000) {
    sendPoints();
  }
  renderPatrol();
}

function sendPoints() {
  if (!patrol || !buffer.length) return null;
  const points = buffer;
  buffer = [];
  lastBatch = Date.now();
  return queue({ kind: 'points', url: `/api/v1/field/shifts/${patrol.id}/points`,
                 body: { crs: 'WGS84', points }, label: `${points.length}` });
}

async function togglePatrol() {
  if (!patrol) {
    patrol = { id: newKey(), started_at: new Date().toISOString() };
    localStorage.setItem('field-patrol', JSON.stringify(patrol));
    recorded = 0;
    await queue({ kind: 'shift', url: '/api/v1/field/shifts', body: patrol,
                  label: patrol.started_at.slice(11, 19) });
    if (position) record({ ...position, t: new Date().toISOString() });
  } else {
    await sendPoints();
    await queue({ kind: 'stop', url: `/api/v1/field/shifts/${patrol.id}/stop`,
                  body: { ended_at: new Date().toISOString() }, label: '' });
    patrol = null;
    localStorage.removeItem('field-patrol');
  }
  renderPatrol();
}

function renderPatrol() {
  $('patrol-toggle').textContent = t(patrol ? 'patrolStop' : 'patrolStart');
  $('patrol-status').textContent = patrol ? t('patrolling', { n: recorded }) : t('patrolIdle');
}

// -- plates --------------------------------------------------------------------------------------
async function decodeImage(blob) {
  const bitmap = await createImageBitmap(blob);
  if ('BarcodeDetector' in window) {
    try {
      const found = await new window.BarcodeDetector({ formats: ['qr_code'] }).detect(bitmap);
      if (found.length) return found[0].rawValue;
    } catch (e) { /* fall back to jsQR */ }
  }
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(bitmap, 0, 0);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const code = window.jsQR(data.data, data.width, data.height);
  return code ? code.data : null;
}

function plateCode(payload) {
  const m = /\/b\/([0-9A-Za-z]+)\/?$/.exec(payload.trim());
  return m ? m[1] : payload.trim();
}

async function checkIn(payload) {
  if (!payload) {
    $('checkin-status').textContent = t('noQr');
    return;
  }
  const body = { payload, at: new Date().toISOString() };
  if (position) Object.assign(body, { lon: position.lon, lat: position.lat,
                                      accuracy: position.accuracy });
  await queue({ kind: 'checkin', url: '/api/v1/field/checkins', body, label: plateCode(payload) });
  $('checkin-status').textContent = t('checkedIn', { code: plateCode(payload) });
}

async function scanCamera() {
  const video = $('camera');
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  const canvas = document.createElement('canvas');
  const tick = async () => {
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext('2d').drawImage(video, 0, 0);
    const payload = await decodeImage(await new Promise((r) => canvas.toBlob(r)));
    if (payload) {
      stream.getTracks().forEach((tr) => tr.stop());
      video.hidden = true;
      checkIn(payload);
    } else {
      setTimeout(tick, 300);
    }
  };
  tick();
}

// -- report --------------------------------------------------------------------------------------
async function loadCategories() {
  try {
    const resp = await fetch('/api/v1/categories');
    if (resp.ok) categories = (await resp.json()).flatMap((m) => m.categories);
  } catch (e) { categories = []; }
  renderCategories();
}

function renderCategories() {
  const q = ($('category-search').value || '').trim().toLowerCase();
  const shown = categories.filter((c) => !q || c.code.includes(q) || c.name.includes(q)
                                         || (c.name_en || '').toLowerCase().includes(q));
  $('category').replaceChildren(...shown.slice(0, 50).map((c) => {
    const o = document.createElement('option');
    o.value = c.code;
    o.textContent = `${c.code} ${lang === 'zh' ? c.name : (c.name_en || c.name)}`;
    return o;
  }));
  if (shown.length) $('category').value = shown[0].code;
}

async function submitReport(event) {
  event.preventDefault();
  const body = { category: $('category').value, channel: 'patrol',
                 description: $('description').value || null };
  if (plateForReport) body.building_code = plateForReport;
  else if (position) body.location = { x: position.lon, y: position.lat, crs: 'WGS84' };
  const photos = [...$('photos').files].map((f) => new File([f], f.name, { type: f.type }));
  $('report-form').reset();  // at once: the next report starts from an empty form
  plateForReport = null;
  $('report-building').textContent = '—';
  renderCategories();
  await queue({ kind: 'report', url: '/api/v1/events', body, photos,
                label: `${body.category} · ${photos.length} 📷` });
  $('report-status').textContent = t('queued');
}

// -- tasks ---------------------------------------------------------------------------------------
async function loadTasks() {
  const q = position ? `?lon=${position.lon}&lat=${position.lat}` : '';
  let tasks = JSON.parse(localStorage.getItem('field-tasks') || '[]');
  try {
    const resp = await fetch(`/api/v1/field/tasks${q}`, { credentials: 'same-origin' });
    if (resp.ok) {
      tasks = (await resp.json()).tasks;
      localStorage.setItem('field-tasks', JSON.stringify(tasks));
    }
  } catch (e) { /* offline: the last list */ }
  $('tasks-list').replaceChildren(...(tasks.length ? tasks : [null]).map((task) => {
    const li = document.createElement('li');
    if (!task) { li.textContent = t('noTasks'); return li; }
    li.dataset.key = taskKey(task);
    li.addEventListener('click', () => pickTask(li.dataset.key, true));
    li.textContent = `${t(task.task)} · ${task.title} · ${task.address || task.building_code || ''}`
      + (task.distance_m != null ? ` · ${Math.round(task.distance_m)} m` : '')
      + (task.overdue ? ` · ${t('overdue')}` : '');
    if (task.overdue) li.className = 'overdue';
    if (task.task === 'visit') {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'visit-record';
      button.dataset.i18n = 'visitRecord';
      button.textContent = t('visitRecord');
      button.addEventListener('click', (e) => { e.stopPropagation(); openVisit(task); });
      li.append(button);
    }
    return li;
  }));
  taskMap.then((m) => m.setTasks(tasks)).catch(() => {});
  await loadDeclarations();
}

// -- visits: recorded on the spot, queued like reports (sent once, in order, when online) -------
let visiting = null;  // the visit task the form is open for

function openVisit(task) {
  visiting = task;
  $('visit-who').textContent = `${task.room || task.building_code || ''} · ${task.title}`;
  $('visit-form').hidden = false;
  $('visit-notes').focus();
}

async function submitVisit(event) {
  event.preventDefault();
  if (!visiting) return;
  const body = { visited_at: new Date().toISOString(), notes: $('visit-notes').value || null,
                 findings: $('visit-findings').value || null };
  if (position) Object.assign(body, { lon: position.lon, lat: position.lat });
  const room = visiting.room || visiting.building_code || '';
  const url = `/api/v1/people/persons/${visiting.id}/visits`;
  $('visit-form').reset();
  $('visit-form').hidden = true;
  visiting = null;
  $('visit-status').textContent = t('visitQueued', { room });
  await queue({ kind: 'visit', url, body, label: room });
}

// -- residence declarations (入住申报) made at the plates of my buildings ---------------------------
// Online only: a decision changes the archive at once, so it is never queued.
async function loadDeclarations() {
  let items = null;
  try {
    const resp = await fetch('/api/v1/people/declarations', { credentials: 'same-origin' });
    if (resp.ok) items = (await resp.json()).items;
  } catch (e) { /* offline: the section keeps what it showed */ return; }
  $('declarations').hidden = items === null;
  if (items === null) return;
  $('declarations-list').replaceChildren(...items.map((d) => {
    const li = document.createElement('li');
    li.dataset.declaration = d.id;
    const what = document.createElement('span');
    what.textContent = `${d.room} · ${d.name} · ${t(d.kind)} · ${d.from_date}`;
    li.append(what);
    for (const [action, key] of [['verify', 'declVerify'], ['reject', 'declReject']]) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = `decl-${action}`;
      button.textContent = t(key);
      button.addEventListener('click', () => decide(d, action));
      li.append(button);
    }
    return li;
  }));
}

async function decide(declaration, action) {
  const out = $('declarations-status');
  if (!navigator.onLine) { out.textContent = t('needOnline'); return; }
  const headers = { Accept: 'application/json' };
  if (me && me.csrf_token) headers['X-CSRF-Token'] = me.csrf_token;
  try {
    const resp = await fetch(`/api/v1/people/declarations/${declaration.id}/${action}`,
      { method: 'POST', headers, credentials: 'same-origin' });
    const body = await resp.json();
    out.textContent = resp.ok
      ? t(action === 'verify' ? 'declVerified' : 'declRejected',
          { name: declaration.name, room: declaration.room })
      : `${t('failed')}: ${body.message}`;
  } catch (e) { out.textContent = t('needOnline'); }
  await loadDeclarations();
}

// A task picked on the map (or in the list, which also moves the map): marked in both.
function pickTask(key, fromList = false) {
  document.querySelectorAll('#tasks-list li').forEach((li) => {
    li.classList.toggle('picked', li.dataset.key === key);
    if (li.dataset.key === key && !fromList) li.scrollIntoView({ block: 'nearest' });
  });
  taskMap.then((m) => m.select(key, fromList)).catch(() => {});
}

// -- offline tiles -------------------------------------------------------------------------------
function tileRange(bbox, z) {
  const n = 2 ** z;
  const x = (lon) => Math.floor(((lon + 180) / 360) * n);
  const y = (lat) => {
    const r = (lat * Math.PI) / 180;
    return Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n);
  };
  return [x(bbox[0]), y(bbox[3]), x(bbox[2]), y(bbox[1])];
}

function bboxOf(feature) {
  const flat = JSON.stringify(feature.geometry.coordinates).match(/-?\d+(\.\d+)?(e-?\d+)?/g)
    .map(Number);
  const xs = flat.filter((_, i) => i % 2 === 0);
  const ys = flat.filter((_, i) => i % 2 === 1);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

async function cacheTiles() {
  const cache = await caches.open('field-tiles');
  let bytes = await cachedBytes(cache);
  let count = 0;
  for (const code of (me && me.grids) || []) {
    const resp = await fetch(`/api/v1/grids/${encodeURIComponent(code)}`);
    if (!resp.ok) continue;
    const box = bboxOf(await resp.json());
    for (let z = 13; z <= 17; z += 1) {
      const [x0, y0, x1, y1] = tileRange(box, z);
      for (let x = x0; x <= x1; x += 1) {
        for (let y = y0; y <= y1; y += 1) {
          if (bytes > TILE_BUDGET_MB * 1e6) {
            $('tiles-status').textContent = t('tilesBudget');
            return showTiles(bytes);
          }
          const url = `/tiles/${TILE_LAYERS}/${z}/${x}/${y}.mvt`;
          if (await cache.match(url)) continue;
          const tile = await fetch(url);
          if (!tile.ok) continue;
          const body = await tile.clone().arrayBuffer();
          await cache.put(url, tile);
          bytes += body.byteLength;
          count += 1;
        }
      }
    }
  }
  $('tiles-status').textContent = t('tilesDone', { n: count });
  showTiles(bytes);
}

async function cachedBytes(cache) {
  let total = 0;
  for (const req of await cache.keys()) {
    total += (await (await cache.match(req)).arrayBuffer()).byteLength;
  }
  return total;
}

function showTiles(bytes) {
  $('tiles-used').textContent = (bytes / 1e6).toFixed(1);
  $('tiles-budget').textContent = TILE_BUDGET_MB;
  window.fieldApp.tileBytes = bytes;
}

// -- wiring --------------------------------------------------------------------------------------
function go(tab) {
  document.querySelectorAll('.tab').forEach((s) => { s.hidden = s.dataset.tab !== tab; });
  document.querySelectorAll('nav button').forEach((b) => {
    if (b.dataset.go === tab) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  });
  if (tab === 'tasks') loadTasks();
}

window.fieldApp = { queued: 0, tileBytes: 0, send, decodeImage, checkIn,
                    recorded: () => recorded, patrol: () => patrol, map: () => taskMap };

async function main() {
  document.querySelectorAll('nav button').forEach((b) => b.addEventListener('click',
    () => go(b.dataset.go)));
  $('lang').addEventListener('click', () => {
    lang = lang === 'zh' ? 'en' : 'zh';
    localStorage.setItem('field-lang', lang);
    applyLanguage();
  });
  $('patrol-toggle').addEventListener('click', togglePatrol);
  $('report-form').addEventListener('submit', submitReport);
  $('visit-form').addEventListener('submit', submitVisit);
  $('visit-cancel').addEventListener('click', () => {
    $('visit-form').reset();
    $('visit-form').hidden = true;
    visiting = null;
  });
  $('category-search').addEventListener('input', renderCategories);
  $('plate-photo').addEventListener('change', async (e) => {
    if (e.target.files[0]) await checkIn(await decodeImage(e.target.files[0]));
    e.target.value = '';
  });
  $('report-plate').addEventListener('change', async (e) => {
    const payload = e.target.files[0] && await decodeImage(e.target.files[0]);
    plateForReport = payload ? plateCode(payload) : null;
    $('report-building').textContent = plateForReport || t('noQr');
  });
  $('scan-camera').addEventListener('click', scanCamera);
  $('queue-retry').addEventListener('click', async () => { await retryFailed(); send(); });
  $('tasks-refresh').addEventListener('click', loadTasks);
  $('tiles-cache').addEventListener('click', cacheTiles);
  window.addEventListener('online', () => { renderNet(); send(); });
  window.addEventListener('offline', renderNet);
  setInterval(() => { if (patrol && buffer.length) sendPoints(); send(); }, 5000);
  applyLanguage();
  taskMap = createTaskMap($('task-map'), { tileLayers: TILE_LAYERS, onPick: pickTask });
  taskMap.catch(() => { $('task-map').hidden = true; });  // no WebGL: the list alone
  await loadMe();
  if ('serviceWorker' in navigator) {
    await navigator.serviceWorker.register('/static/field/sw.js', { scope: '/static/field/' });
  }
  await Promise.all([loadCategories(), renderQueue(), loadTasks()]);
  showTiles(await cachedBytes(await caches.open('field-tiles')));
  watchPosition();
  window.fieldReady = true;
}

main();
