// The dashboard panel: counts by status, rates, trend chart (plain SVG), top categories,
// overdue list, and the figure the grid choropleth shows. Hidden when the data is unavailable;
// anonymous visitors are asked to sign in.
import { esc, fmtPct, fmtTime, getJSON, paintStyles } from './api.js';
import { label, t } from './i18n.js';
import { signInHref, signedIn } from './session.js';

const STATUS_COLORS = {
  registered: '#3b82f6', dispatched: '#6366f1', in_progress: '#f59e0b', handled: '#10b981',
  verified: '#14b8a6', closed: '#6b7280', evaluated: '#9ca3af', rejected: '#ef4444',
  returned: '#f97316', duplicate: '#a3a3a3', cancelled: '#d4d4d4',
};

export function statusColor(status) { return STATUS_COLORS[status] || '#888'; }

function trendSvg(trend) {
  const w = 300; const h = 90; const pad = 4;
  const max = Math.max(1, ...trend.map((d) => Math.max(d.reported, d.closed)));
  const x = (i) => pad + (i * (w - 2 * pad)) / Math.max(1, trend.length - 1);
  const y = (v) => h - pad - (v * (h - 2 * pad)) / max;
  const line = (key) => trend.map((d, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(d[key]).toFixed(1)}`).join('');
  return `<svg class="trend" viewBox="0 0 ${w} ${h}" width="100%" height="${h}" role="img">
    <rect x="0" y="0" width="${w}" height="${h}" fill="#f8fafc"/>
    <path d="${line('reported')}" fill="none" stroke="#2563eb" stroke-width="2"/>
    <path d="${line('closed')}" fill="none" stroke="#16a34a" stroke-width="2"/>
    <text x="${w - pad}" y="12" text-anchor="end" font-size="10" fill="#334155">max ${max}</text>
  </svg>
  <div class="trend-legend"><span data-fg="#2563eb">■ ${t('reported')}</span>
    <span data-fg="#16a34a">■ ${t('closed')}</span></div>`;
}

function statusBars(byStatus) {
  const entries = Object.entries(byStatus).sort((a, b) => b[1] - a[1]);
  const max = Math.max(1, ...entries.map((e) => e[1]));
  return entries.map(([s, n]) => `<div class="bar-row"><span class="bar-label">${esc(t(`status.${s}`))}</span>
    <span class="bar" data-width="${(100 * n) / max}%" data-bg="${statusColor(s)}"></span>
    <span class="bar-n">${n}</span></div>`).join('');
}

export class Dashboard {
  constructor(el, { onFlyTo, onChoropleth }) {
    this.el = el;
    this.onFlyTo = onFlyTo;
    this.onChoropleth = onChoropleth;
    this.data = null;
    this.figure = 'off';
  }

  async refresh() {
    if (!signedIn()) {
      this.data = null;
      this.renderSignIn();
      return null;
    }
    const data = await getJSON('/api/v1/web/dashboard');
    if (!data) { this.el.hidden = true; return null; }
    this.data = data;
    this.el.hidden = false;
    this.render();
    this.onChoropleth(this.figure, data);
    return data;
  }

  renderSignIn() {
    this.el.hidden = false;
    this.el.innerHTML = `<h2>${t('dashboard')}</h2>
      <p id="dashboard-sign-in">${t('signInForDashboard')}
        <a href="${esc(signInHref())}">${t('signInLink')}</a></p>`;
  }

  render() {
    const d = this.data;
    if (!signedIn()) { this.renderSignIn(); return; }
    if (!d) return;
    const figures = ['off', 'events', 'open', 'overdue', 'closure_rate'];
    const figureLabel = { off: t('off'), events: t('events'), open: t('open'), overdue: t('overdue'),
                          closure_rate: t('closureRate') };
    this.el.innerHTML = `
      <h2>${t('dashboard')}</h2>
      <div class="kpis">
        <div><b id="kpi-total">${d.total}</b><span>${t('total')}</span></div>
        <div><b>${d.open}</b><span>${t('open')}</span></div>
        <div><b class="warn">${d.overdue}</b><span>${t('overdue')}</span></div>
        <div><b>${fmtPct(d.closure_rate)}</b><span>${t('closureRate')}</span></div>
        <div><b>${fmtPct(d.on_time_rate)}</b><span>${t('onTimeRate')}</span></div>
      </div>
      <h3>${t('byStatus')}</h3><div class="bars">${statusBars(d.by_status)}</div>
      <h3>${t('trend')}</h3>${trendSvg(d.trend)}
      <h3>${t('topCategories')}</h3>
      <ol class="top">${d.top_categories.map((c) => `<li>${esc(label(c))} <span>${c.count}</span></li>`).join('')}</ol>
      <h3>${t('choropleth')}</h3>
      <select id="choropleth-figure">${figures.map((f) => `<option value="${f}" ${f === this.figure ? 'selected' : ''}>${figureLabel[f]}</option>`).join('')}</select>
      <h3>${t('overdueList')} (${d.overdue})</h3>
      <ul class="overdue">${d.overdue_list.map((e) => `<li><a href="#" data-lon="${e.lon}" data-lat="${e.lat}" data-id="${e.id}">#${e.id}</a>
        ${esc(label(e, 'category_name'))} <small>${fmtTime(e.due_at)}</small></li>`).join('') || `<li>${t('none')}</li>`}</ul>`;
    paintStyles(this.el);
    this.el.querySelector('#choropleth-figure').addEventListener('change', (ev) => {
      this.figure = ev.target.value;
      this.onChoropleth(this.figure, this.data);
    });
    this.el.querySelectorAll('.overdue a').forEach((a) => a.addEventListener('click', (ev) => {
      ev.preventDefault();
      this.onFlyTo(Number(a.dataset.lon), Number(a.dataset.lat), { kind: 'event', id: Number(a.dataset.id) });
    }));
  }
}

// A MapLibre colour expression for the grid fill: figure value per grid code, by quantiles.
export function choroplethExpression(figure, data, codeProp = 'code') {
  if (!data || figure === 'off') return null;
  const entries = Object.entries(data.grids || {}).filter(([, v]) => v[figure] !== null && v[figure] !== undefined);
  if (!entries.length) return null;
  const values = entries.map(([, v]) => v[figure]).sort((a, b) => a - b);
  const ramp = ['#fff5eb', '#fdd0a2', '#fd8d3c', '#d94801', '#7f2704'];
  const q = (p) => values[Math.min(values.length - 1, Math.floor(p * values.length))];
  const breaks = [q(0.2), q(0.4), q(0.6), q(0.8)];
  const colour = (v) => ramp[breaks.filter((b) => v > b).length];
  const expr = ['match', ['to-string', ['get', codeProp]]];
  const seen = new Set();
  for (const [code, v] of entries) {
    if (seen.has(code)) continue;
    seen.add(code);
    expr.push(code, colour(v[figure]));
  }
  expr.push('rgba(0,0,0,0)');
  return { expression: expr, ramp, breaks };
}
