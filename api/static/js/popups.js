// Click popups: building, event, camera and grid. Every remote part is optional:
// when an endpoint is missing the popup shows what the tile itself carries. Staff
// endpoints are asked only when someone is signed in (the session cookie, never a token
// the page could read); anonymous visitors see the public layers' own attributes.
import { esc, exists, fmtPct, fmtTime, getJSON } from './api.js';
import { label, t } from './i18n.js';
import { sendJSON, signInHref, signedIn } from './session.js';

// the open statuses, as the server defines them (layers.vocabulary, /api/v1/web/config)
let openStatuses = [];

export function useVocabulary(config) {
  openStatuses = (config && config.open_statuses) || [];
}

function rows(pairs) {
  return `<table>${pairs.filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join('')}</table>`;
}

function staffJSON(url) {
  return signedIn() ? getJSON(url) : Promise.resolve(null);
}

export async function buildingPopup(feature) {
  const p = feature.properties || {};
  const code = p.code;
  const record = await staffJSON(`/api/v1/buildings/${encodeURIComponent(code)}`);
  const r = (record && record.properties) || p;
  const qrUrl = `/api/v1/buildings/${encodeURIComponent(code)}/qr.svg`;
  const hasQr = await exists(qrUrl);
  let events = null;
  if (feature.id !== undefined && feature.id !== null) {
    const open = openStatuses.length ? `&status=${openStatuses.join(',')}` : '';
    events = await getJSON(`/ogc/collections/events/items?building_id=${feature.id}`
                           + `${open}&limit=20&f=json`);
  }
  const evList = events ? (events.features.map((e) => `<li><a href="#" data-event="${e.id}">#${e.id}</a> `
    + `${esc(t(`status.${e.properties.status}`))} <small>${fmtTime(e.properties.reported_at)}</small></li>`)
    .join('') || `<li>${t('none')}</li>`) : `<li>${t('unavailable')}</li>`;
  return `<div class="popup building"><h3>${t('building')} <span class="code">${esc(code)}</span></h3>
    ${rows([[t('name'), esc(r.name)], [t('address'), esc(r.address)], [t('floors'), esc(r.floors)],
            [t('height'), r.height ? `${esc(r.height)} m` : null], [t('use'), esc(r.use)],
            [t('community'), esc(r.community_code)],
            [t('rooms'), record && record.properties.rooms ? record.properties.rooms.length : null]])}
    ${hasQr ? `<div>${t('qr')}<img class="qr" alt="QR ${esc(code)}" src="${qrUrl}"></div>` : ''}
    <div>${t('openEvents')}${events ? ` (${events.numberMatched})` : ''}</div><ul class="history">${evList}</ul></div>`;
}

async function actionButtons(id) {
  if (!signedIn()) {
    return `<div class="actions"><a href="${esc(signInHref())}">${t('signIn')}</a></div>`;
  }
  const acts = await getJSON(`/api/v1/web/event-actions/${id}`);
  if (!acts) return '';
  const buttons = acts.allowed.map((a) => `<button type="button" data-action="${esc(a)}" data-id="${id}">${esc(a)}</button>`).join('');
  return `<div class="actions">${t('actions')} (${esc(acts.role)}): ${buttons || t('none')}</div>`;
}

export async function eventPopup(id, fallback = {}) {
  let ev = await staffJSON(`/api/v1/events/${id}`);
  if (!ev) {
    const f = await getJSON(`/ogc/collections/events/items/${id}?f=json`);
    ev = f ? { id, ...f.properties } : { id, ...fallback };
  }
  const history = (ev.history || []).map((h) => `<li>${fmtTime(h.at)} ${esc(h.action)} → `
    + `${esc(t(`status.${h.to_status}`))}${h.actor ? ` <small>(${esc(h.actor)})</small>` : ''}</li>`).join('');
  const category = ev.category_name || label(ev, 'category_name') || ev.category || ev.category_code;
  return `<div class="popup event"><h3>${t('event')} #${esc(ev.id)}</h3>
    ${rows([[t('status'), esc(t(`status.${ev.status}`))], [t('category'), esc(category)],
            [t('address'), esc(ev.address)], [t('reportedAt'), fmtTime(ev.reported_at)],
            [t('dueAt'), fmtTime(ev.due_at)]])}
    ${ev.description ? `<p>${esc(ev.description)}</p>` : ''}
    ${history ? `<div>${t('history')}</div><ol class="history">${history}</ol>` : ''}
    ${await actionButtons(id)}</div>`;
}

export async function takeAction(id, action) {
  return sendJSON(`/api/v1/events/${id}/actions`, { method: 'POST', body: { action } });
}

export async function cameraPopup(feature, showView) {
  const p = feature.properties || {};
  if (feature.id !== undefined) {
    const view = await getJSON(`/ogc/collections/camera-views/items/${feature.id}?f=json`);
    if (view) showView(view);
  }
  return `<div class="popup camera"><h3>${t('camera')} ${esc(p.code)}</h3>
    ${rows([[t('name'), esc(p.name)], [t('kind'), esc(p.kind)], [t('status'), esc(p.status)],
            [t('heading'), p.heading !== undefined ? `${esc(p.heading)}°` : null],
            [t('hfov'), p.hfov !== undefined ? `${esc(p.hfov)}°` : null],
            [t('range'), p.range_m !== undefined ? `${esc(p.range_m)} m` : null]])}
    <small>${t('viewPolygon')}</small></div>`;
}

export async function gridPopup(feature, layerName, dashboard) {
  const p = feature.properties || {};
  const mine = dashboard && dashboard.grid_layer === layerName ? dashboard.grids[p.code] : null;
  let k = mine ? { events: mine.events, open: mine.open, overdue: mine.overdue,
                   closure_rate: mine.closure_rate } : null;
  const stats = await staffJSON(`/api/v1/stats/events?group_by=grid&layer=${encodeURIComponent(layerName)}`);
  const g = stats && Array.isArray(stats.groups) ? stats.groups.find((x) => x.key === p.code) : null;
  if (g) {  // the KPI service's figures win; 'open' only comes from the dashboard
    k = { ...(k || {}), events: g.registered, overdue: g.overdue, closure_rate: g.closure_rate,
          on_time: g.on_time_closure_rate, hours_to_close: g.median_hours_to_close,
          satisfaction: g.mean_satisfaction };
  }
  const num = (v, d = 1) => (v === null || v === undefined ? null : Number(v).toFixed(d));
  const kpis = k ? rows([[t('events'), esc(k.events)], [t('open'), esc(k.open)],
                         [t('overdue'), esc(k.overdue)], [t('closureRate'), fmtPct(k.closure_rate)],
                         [t('onTimeRate'), k.on_time !== undefined ? fmtPct(k.on_time) : null],
                         [t('hoursToClose'), num(k.hours_to_close)],
                         [t('satisfaction'), num(k.satisfaction, 2)]])
    : `<small>${t('unavailable')}</small>`;
  return `<div class="popup grid"><h3>${t('grid')} ${esc(p.code)}</h3>
    ${rows([[t('name'), esc(p.name)], [t('layer'), esc(layerName)], [t('community'), esc(p.community_code)]])}
    <div>${t('kpis')}</div>${kpis}</div>`;
}

// The population of a grid (public tiles: a count of 1 to 4 arrives empty and reads "<5").
export function populationPopup(feature) {
  const p = feature.properties;
  const count = (key) => (p[key] === undefined || p[key] === null ? '&lt;5' : esc(p[key]));
  return `<div class="popup popup-population"><h3>${esc(t('population'))} ${esc(p.code)}</h3>${rows([
    [t('name'), esc(p.name || '')], [t('residents'), count('residents')],
    [t('households'), count('households')], [t('organisations'), count('organisations')],
    [t('special'), count('special')]])}`
    + (p.suppressed ? `<p class="note">${esc(t('suppressedNote'))}</p>` : '') + '</div>';
}
