// The residents' report form (/report and the plate page /b/{code}): photos, position,
// a searchable category, a description and an optional phone, posted as multipart to
// POST /api/v1/events; the answer's tracking link /t/{token} is shown on success.
import { createPhotos } from './photos.js';
import { createPicker, loadCategories } from './picker.js';
import { createPosition } from './position.js';
import { applyWords, currentLang, errorText, switchLang, t } from './words.js';

const form = document.getElementById('report');
const $ = (id) => document.getElementById(id);
const building = form.dataset.building || null;
const maxPhotos = Number(form.dataset.maxPhotos);
const newKey = () => (crypto.randomUUID ? crypto.randomUUID()
  : `${Date.now()}-${Math.random()}`);
let key = newKey();

const photos = createPhotos({ input: $('photos'), list: $('thumbs'), note: $('photo-note'),
                              max: maxPhotos });
const position = createPosition({ status: $('position'), button: $('locate'), building });
let picker = null;

function words() {
  applyWords(document, { n: maxPhotos });
  const lang = $('lang-switch');
  if (lang) lang.textContent = currentLang() === 'en' ? '中文' : 'English';
  photos.relabel();
  position.relabel();
  if (picker) picker.relabel();
}

// Where the report is: the plate's building, a typed building code, or the phone's position.
function place() {
  if (building) return { building_code: building };
  const typed = $('building-code').value.trim();
  if (typed) return { building_code: typed };
  const here = position.current();
  return here ? { location: { x: here.lon, y: here.lat, crs: 'EPSG:4326' } } : {};
}

function payload() {
  const event = { category: $('category').value, channel: building ? 'qr' : 'app', ...place() };
  const description = $('description').value.trim();
  if (description) event.description = description;
  if ($('phone').value.trim()) event.reporter = { phone: $('phone').value.trim() };
  const body = new FormData();
  body.append('event', JSON.stringify(event));
  photos.files().forEach((file) => body.append('photos', file, file.name));
  return body;
}

function showResult(text, kind) {
  const out = $('result');
  out.className = kind;
  out.textContent = text;
  return out;
}

function received(data) {
  const out = showResult(data.duplicate ? t('duplicate', { id: data.duplicate_of })
    : t('received', { id: data.id }), 'ok');
  const link = document.createElement('a');
  link.id = 'track-link';
  link.href = `/t/${encodeURIComponent(data.public_token)}`;
  link.textContent = `${t('follow')} ${location.origin}${link.getAttribute('href')}`;
  out.append(' ', link);
  photos.clear();
  picker.clear();
  $('description').value = '';
  key = newKey();
}

async function submit(ev) {
  ev.preventDefault();
  if (!$('category').value) {
    showResult(t('needCategory'), 'error');
    $('category-search').focus();
    return;
  }
  const button = $('submit');
  button.disabled = true;
  showResult(t('sending'), '');
  try {
    const resp = await fetch('/api/v1/events', { method: 'POST', body: payload(),
                                                 headers: { 'Idempotency-Key': key } });
    const data = await resp.json().catch(() => ({}));
    if (resp.status === 201) received(data);
    else if (resp.status === 202) { showResult(t('forwarded'), 'ok'); key = newKey(); }
    else { showResult(errorText(data), 'error'); key = newKey(); }
  } catch (e) {
    showResult(t('network'), 'error');
  } finally {
    button.disabled = false;
  }
}

async function start() {
  words();
  if ($('lang-switch')) $('lang-switch').addEventListener('click', () => { switchLang(); words(); });
  form.addEventListener('submit', submit);
  try {
    picker = createPicker({ input: $('category-search'), hidden: $('category'),
                            list: $('category-list'), chosen: $('category-chosen'),
                            categories: await loadCategories() });
  } catch (e) {
    showResult(t('loadFailed'), 'error');
    return;
  }
  window.gridgovReportReady = true;
}

start();
