// A small i18n dictionary: Chinese by default, English by switch (remembered in localStorage).
const DICT = {
  zh: {
    title: '网格化治理一张图', layers: '图层', legend: '图例', dashboard: '态势看板',
    search: '搜索', searchPlaceholder: '建筑编码 / 网格编码 / 事件编号', notFound: '未找到',
    building: '建筑', grid: '网格', event: '事件', camera: '摄像头', road: '道路', admin: '行政区',
    code: '编码', name: '名称', address: '地址', floors: '层数', use: '用途', status: '状态',
    community: '社区', rooms: '房间数', qr: '门牌二维码', openEvents: '未办结事件', none: '无',
    category: '类别', reportedAt: '上报时间', dueAt: '办理时限', history: '处理过程',
    actions: '可执行操作', signIn: '登录后可处理', kpis: '网格指标', events: '事件数',
    open: '未办结', overdue: '超期', closureRate: '办结率', onTimeRate: '按期办结率',
    total: '事件总数', byStatus: '按状态', trend: '近30日趋势', reported: '上报', closed: '办结',
    topCategories: '高发类别', overdueList: '超期事件', choropleth: '网格专题图', off: '关闭',
    heading: '朝向', range: '视距', hfov: '视场角', liveEvents: '实时事件', newEvent: '新事件',
    language: 'English', unavailable: '暂不可用', layer: '网格层', kind: '类型', height: '高度',
    viewPolygon: '可视范围', basemap: '外部底图', hoursToClose: '办结时长中位数(小时)', satisfaction: '满意度',
    'group.base': '基础图层', 'group.operations': '业务图层', 'group.analysis': '分析图层', 'group.raster': '栅格图层',
    'status.registered': '已登记', 'status.dispatched': '已派遣', 'status.in_progress': '处置中',
    'status.handled': '已处置', 'status.verified': '已核查', 'status.closed': '已结案',
    'status.evaluated': '已评价', 'status.rejected': '不予受理', 'status.returned': '已退回',
    'status.duplicate': '重复', 'status.cancelled': '已撤销',
    'cameras.online': '在线', 'cameras.offline': '离线',
    'hotspots.3': '热点（99%置信）', 'hotspots.2': '热点（95%置信）', 'hotspots.1': '热点（90%置信）',
    'hotspots.0': '不显著', 'hotspots.-1': '冷点（90%置信）', 'hotspots.-2': '冷点（95%置信）',
    'hotspots.-3': '冷点（99%置信）',
    'analysis.never': '尚未计算：定时任务每 {h} 小时计算一次', 'analysis.neverManual': '尚未计算：由分析人员在分析接口计算', 'analysis.none.hotspots': '{at} 计算：无显著热点或冷点', 'analysis.none.blind-spots': '{at} 计算：无监控盲区', 'analysis.some.hotspots': '{at} 计算：{n} 个显著单元', 'analysis.some.blind-spots': '{at} 计算：{n} 处盲区',
    population: '实有人口', residents: '居民', households: '户数', organisations: '单位', special: '特殊人群', suppressedNote: '少于5的数字不公开显示', 
    eventWindow: '时间范围', lastDays: '近{n}天', allTime: '全部', openOnly: '仅未办结',
    clusterLegend: '聚合点（越大事件越多，点击放大）',
    signInTitle: '工作人员登录', userName: '用户名', password: '密码', signInButton: '登录',
    backToMap: '返回一张图', signInLink: '登录', signOut: '退出登录',
    signInForDashboard: '登录后查看态势看板、实时事件和事件处理。',
    signInForLive: '登录后接收实时事件',
    'error.invalid_credentials': '用户名或密码错误', 'error.too_many_attempts': '失败次数过多，请 {n} 秒后再试',
    'error.network': '无法连接服务器，请稍后再试', 'error.other': '登录失败，请重试',
    'patrol.title': '巡查轨迹', 'patrol.day': '日期', 'patrol.worker': '网格员', 'patrol.show': '显示轨迹',
    'patrol.play': '回放', 'patrol.pause': '暂停', 'patrol.grid': '网格', 'patrol.share': '道路覆盖',
    'patrol.hours': '时长(h)', 'patrol.checkins': '签到', 'patrol.noWorkers': '范围内没有网格员',
    'patrol.summary': '{n} 个轨迹点 · {km} 公里 · {h} 小时 · {c} 次签到', 'patrol.empty': '当天没有轨迹 · {c} 次签到',
  },
  en: {
    title: 'Grid governance one-map', layers: 'Layers', legend: 'Legend', dashboard: 'Dashboard',
    search: 'Search', searchPlaceholder: 'building code / grid code / event id', notFound: 'Not found',
    building: 'Building', grid: 'Grid', event: 'Event', camera: 'Camera', road: 'Road', admin: 'Admin area',
    code: 'Code', name: 'Name', address: 'Address', floors: 'Floors', use: 'Use', status: 'Status',
    community: 'Community', rooms: 'Rooms', qr: 'Plate QR', openEvents: 'Open events', none: 'none',
    category: 'Category', reportedAt: 'Reported', dueAt: 'Due', history: 'History',
    actions: 'Allowed actions', signIn: 'sign in to act', kpis: 'Grid KPIs', events: 'Events',
    open: 'Open', overdue: 'Overdue', closureRate: 'Closure rate', onTimeRate: 'On-time rate',
    total: 'Events', byStatus: 'By status', trend: 'Last 30 days', reported: 'reported', closed: 'closed',
    topCategories: 'Top categories', overdueList: 'Overdue', choropleth: 'Grid choropleth', off: 'off',
    heading: 'Heading', range: 'Range', hfov: 'Field of view', liveEvents: 'Live events', newEvent: 'New event',
    language: '中文', unavailable: 'unavailable', layer: 'Grid layer', kind: 'Kind', height: 'Height',
    viewPolygon: 'View area', basemap: 'External basemap', hoursToClose: 'Median hours to close', satisfaction: 'Satisfaction',
    'group.base': 'Base layers', 'group.operations': 'Operations', 'group.analysis': 'Analysis', 'group.raster': 'Surfaces',
    'status.registered': 'registered', 'status.dispatched': 'dispatched', 'status.in_progress': 'in progress',
    'status.handled': 'handled', 'status.verified': 'verified', 'status.closed': 'closed',
    'status.evaluated': 'evaluated', 'status.rejected': 'rejected', 'status.returned': 'returned',
    'status.duplicate': 'duplicate', 'status.cancelled': 'cancelled',
    'cameras.online': 'online', 'cameras.offline': 'offline',
    'hotspots.3': 'hot spot (99%)', 'hotspots.2': 'hot spot (95%)', 'hotspots.1': 'hot spot (90%)',
    'hotspots.0': 'not significant', 'hotspots.-1': 'cold spot (90%)', 'hotspots.-2': 'cold spot (95%)',
    'hotspots.-3': 'cold spot (99%)',
    'analysis.never': 'not computed yet: the schedule computes it every {h} h', 'analysis.neverManual': 'not computed yet: an analyst computes it through the analytics API', 'analysis.none.hotspots': 'computed {at}: no significant hot or cold spot', 'analysis.none.blind-spots': 'computed {at}: no blind spot', 'analysis.some.hotspots': 'computed {at}: {n} significant cells', 'analysis.some.blind-spots': 'computed {at}: {n} blind spots',
    population: 'Population', residents: 'Residents', households: 'Households', organisations: 'Organisations', special: 'Special populations', suppressedNote: 'Counts under 5 are not shown in public', 
    eventWindow: 'Reported in', lastDays: 'last {n} days', allTime: 'all time', openOnly: 'open only',
    clusterLegend: 'cluster (larger: more events; click to zoom in)',
    signInTitle: 'Staff sign-in', userName: 'User name', password: 'Password', signInButton: 'Sign in',
    backToMap: 'Back to the one-map', signInLink: 'Sign in', signOut: 'Sign out',
    signInForDashboard: 'Sign in to see the dashboard, live events and to act on events.',
    signInForLive: 'sign in to receive live events',
    'error.invalid_credentials': 'Wrong name or password', 'error.too_many_attempts': 'Too many failed attempts; try again in {n} s',
    'error.network': 'Cannot reach the server; try again later', 'error.other': 'Sign-in failed; try again',
    'patrol.title': 'Patrol tracks', 'patrol.day': 'Day', 'patrol.worker': 'Grid worker', 'patrol.show': 'Show track',
    'patrol.play': 'Replay', 'patrol.pause': 'Pause', 'patrol.grid': 'Grid', 'patrol.share': 'Road coverage',
    'patrol.hours': 'Hours', 'patrol.checkins': 'Check-ins', 'patrol.noWorkers': 'No grid worker in your scope',
    'patrol.summary': '{n} track points · {km} km · {h} h · {c} check-ins', 'patrol.empty': 'No track that day · {c} check-ins',
  },
};

let lang = (typeof localStorage !== 'undefined' && localStorage.getItem('gridgov.lang')) || 'zh';
const listeners = [];

export function t(key) {
  return (DICT[lang] && DICT[lang][key]) || DICT.zh[key] || key;
}

export function currentLang() { return lang; }

// Pick the label of an object in the current language: obj.name / obj.name_en, or title/title_en.
export function label(obj, base = 'name') {
  if (!obj) return '';
  return (lang === 'en' && obj[`${base}_en`]) || obj[base] || obj[`${base}_en`] || '';
}

export function setLang(value) {
  lang = value === 'en' ? 'en' : 'zh';
  try { localStorage.setItem('gridgov.lang', lang); } catch (e) { /* private mode */ }
  document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
  applyStatic();
  listeners.forEach((fn) => fn(lang));
}

export function onLangChange(fn) { listeners.push(fn); }

// Elements with data-i18n="key" get their text; data-i18n-placeholder their placeholder.
export function applyStatic(root = document) {
  root.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll('[data-i18n-placeholder]').forEach((el) => {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  });
  document.title = t('title');
}
