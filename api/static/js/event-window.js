// The events layer's default view: open events reported in a recent window (the dispatcher's
// map), changeable from the layer panel; dense tiles arrive as clusters (`point_count`).
import { t } from './i18n.js';

export const WINDOWS = [7, 30, 90, 365, 0];  // days; 0: all time
export const eventView = { days: 30, openOnly: true };

// The events tiles' query string for the current view (layers.catalog's filters).
export function eventQuery(view = eventView, now = new Date()) {
  const parts = [];
  if (view.openOnly) parts.push('open=true');
  if (view.days) {
    const start = new Date(now.getTime() - view.days * 86400000);
    parts.push(`datetime=${start.toISOString().slice(0, 19)}Z/..`);
  }
  return parts.join('&');
}

export function eventTilesUrl(origin, view = eventView) {
  const query = eventQuery(view);
  return `${origin}/tiles/events/{z}/{x}/{y}.mvt${query ? `?${query}` : ''}`;
}

// Circles of clusters grow with the number of events they stand for.
export function clusterRadius(base) {
  return ['case', ['has', 'point_count'],
    ['interpolate', ['linear'], ['get', 'point_count'], 2, base + 3, 10, base + 6, 100, base + 11,
     1000, base + 16], base];
}

// The window picker and the open-only switch, under the events layer in the switcher.
export function eventViewControls() {
  const options = WINDOWS.map((d) => `<option value="${d}" ${d === eventView.days ? 'selected' : ''}>
    ${d ? t('lastDays').replace('{n}', d) : t('allTime')}</option>`).join('');
  return `<div class="event-view"><label>${t('eventWindow')}
      <select id="event-window">${options}</select></label>
    <label><input type="checkbox" id="event-open" ${eventView.openOnly ? 'checked' : ''}>
      ${t('openOnly')}</label></div>`;
}

export function bindEventViewControls(root, onChange) {
  const select = root.querySelector('#event-window');
  const open = root.querySelector('#event-open');
  if (!select || !open) return;
  select.addEventListener('change', () => { eventView.days = Number(select.value); onChange(); });
  open.addEventListener('change', () => { eventView.openOnly = open.checked; onChange(); });
}
