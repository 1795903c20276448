// The workbench's words in Chinese and English: tabs, actions, statuses, fields.
// No raw code reaches the page: an unknown key shows as '—' rather than as `mark_duplicate`.
import { currentLang } from './i18n.js';

const WORDS = {
  zh: {
    desk: '坐席工作台', inbox: '部门待办', queueTitle: '案件队列', caseTitle: '案件',
    'tab.all': '全部在办', 'tab.new': '新上报', 'tab.dispatched': '待接单', 'tab.in_progress': '处置中',
    'tab.returned': '部门退回', 'tab.verify': '待核查', 'tab.closing': '待结案', 'tab.overdue': '超期',
    'tab.escalated': '已升级', 'tab.supervised': '督办',
    'action.dispatch': '派遣', 'action.accept': '接单', 'action.return': '退回', 'action.handle': '处置完成',
    'action.verify': '核查通过', 'action.reopen': '核查不通过', 'action.close': '结案', 'action.evaluate': '评价',
    'action.reject': '不予受理', 'action.cancel': '撤销', 'action.mark_duplicate': '合并为重复',
    'action.escalate': '升级', 'action.register': '登记受理', 'action.supervise': '督办',
    'action.unsupervise': '取消督办', 'action.reroute': '改派', 'action.recategorise': '改类',
    'status.registered': '已登记', 'status.dispatched': '已派遣', 'status.in_progress': '处置中',
    'status.handled': '已处置', 'status.verified': '已核查', 'status.closed': '已结案',
    'status.evaluated': '已评价', 'status.rejected': '不予受理', 'status.returned': '已退回',
    'status.duplicate': '重复', 'status.cancelled': '已撤销',
    'channel.app': '市民App', 'channel.qr': '扫码上报', 'channel.hotline': '热线', 'channel.patrol': '网格员巡查',
    'channel.camera': '视频发现', 'channel.open311': 'Open311',
    id: '编号', status: '状态', category: '类别', channel: '来源', community: '社区', street: '街道',
    department: '处置部门', reported: '上报时间', due: '办理时限', dispatchTime: '发现至派遣',
    minutes: '分钟', description: '描述', address: '地址', grid: '网格', q: '编号或关键词',
    from: '起', to: '止', filter: '筛选', clear: '清除', sort: '排序', prev: '上一页', next: '下一页',
    'sort.-reported_at': '最新上报', 'sort.reported_at': '最早上报', 'sort.due_at': '时限最近',
    'sort.overdue': '超期优先', 'sort.-dispatch': '派遣最慢', 'sort.id': '编号',
    live: '实时', liveOff: '实时连接中断', newCase: '新案件', none: '无', any: '不限',
    history: '处理过程', photos: '照片', before: '处置前', after: '处置后', reporter: '上报人',
    phone: '电话', email: '邮箱', name: '姓名', duplicates: '重复上报', nearby: '附近在办案件',
    building: '建筑档案', floors: '层数', use: '用途', code: '编码', map: '位置',
    note: '备注', notePlaceholder: '处理意见、退回原因……', attachPhotos: '附照片',
    duplicateOf: '重复于案件编号', departmentPick: '选择部门', actionsTitle: '操作',
    recategorise: '改类', reroute: '改派', reRouteByRules: '按规则重新派遣', save: '保存',
    pause: '挂起', extend: '延期', hours: '小时', reason: '原因', deadline: '时限调整',
    requested: '已申请', approved: '已批准', refused: '已驳回', approve: '批准', refuse: '驳回',
    supervised: '督办中', escalation: '升级', 'level.1': '街道', 'level.2': '区', 'level.3': '市',
    target: '目标 {n} 分钟', onTarget: '达标', offTarget: '未达标', notDispatched: '未派遣',
    shortcuts: '快捷键', back: '返回队列', signOut: '退出登录', language: 'English',
    done: '已完成', required: '请填写', metres: '米', loading: '加载中…', error: '出错了',
    reasonRequired: '退回需填写原因',
  },
  en: {
    desk: 'Dispatch desk', inbox: 'Department inbox', queueTitle: 'Case queue', caseTitle: 'Case',
    'tab.all': 'All open', 'tab.new': 'New', 'tab.dispatched': 'To accept', 'tab.in_progress': 'In progress',
    'tab.returned': 'Returned', 'tab.verify': 'To verify', 'tab.closing': 'To close', 'tab.overdue': 'Overdue',
    'tab.escalated': 'Escalated', 'tab.supervised': 'Supervised',
    'action.dispatch': 'Dispatch', 'action.accept': 'Accept', 'action.return': 'Return', 'action.handle': 'Handled',
    'action.verify': 'Verify', 'action.reopen': 'Reopen', 'action.close': 'Close', 'action.evaluate': 'Evaluate',
    'action.reject': 'Reject', 'action.cancel': 'Cancel case', 'action.mark_duplicate': 'Merge as duplicate',
    'action.escalate': 'Escalate', 'action.register': 'Registered', 'action.supervise': 'Supervise',
    'action.unsupervise': 'Lift supervision', 'action.reroute': 'Re-route', 'action.recategorise': 'Re-categorise',
    'status.registered': 'registered', 'status.dispatched': 'dispatched', 'status.in_progress': 'in progress',
    'status.handled': 'handled', 'status.verified': 'verified', 'status.closed': 'closed',
    'status.evaluated': 'evaluated', 'status.rejected': 'rejected', 'status.returned': 'returned',
    'status.duplicate': 'duplicate', 'status.cancelled': 'cancelled',
    'channel.app': 'Resident app', 'channel.qr': 'Plate QR', 'channel.hotline': 'Hotline',
    'channel.patrol': 'Grid patrol', 'channel.camera': 'Camera', 'channel.open311': 'Open311',
    id: 'No.', status: 'Status', category: 'Category', channel: 'Channel', community: 'Community',
    street: 'Street', department: 'Department', reported: 'Reported', due: 'Due',
    dispatchTime: 'Discovery to dispatch', minutes: 'min', description: 'Description', address: 'Address',
    grid: 'Grid', q: 'Case no. or words', from: 'From', to: 'To', filter: 'Filter', clear: 'Clear',
    sort: 'Sort', prev: 'Previous', next: 'Next',
    'sort.-reported_at': 'Newest', 'sort.reported_at': 'Oldest', 'sort.due_at': 'Nearest deadline',
    'sort.overdue': 'Overdue first', 'sort.-dispatch': 'Slowest dispatch', 'sort.id': 'Number',
    live: 'live', liveOff: 'live updates interrupted', newCase: 'New case', none: 'none', any: 'any',
    history: 'History', photos: 'Photos', before: 'Before', after: 'After', reporter: 'Reporter',
    phone: 'Phone', email: 'E-mail', name: 'Name', duplicates: 'Duplicates', nearby: 'Open cases nearby',
    building: 'Building record', floors: 'Floors', use: 'Use', code: 'Code', map: 'Location',
    note: 'Note', notePlaceholder: 'instructions, reason for returning…', attachPhotos: 'Photos',
    duplicateOf: 'Duplicate of case no.', departmentPick: 'Department', actionsTitle: 'Actions',
    recategorise: 'Re-categorise', reroute: 'Re-route', reRouteByRules: 'route again by the rules',
    save: 'Save', pause: 'Pause', extend: 'Extend', hours: 'hours', reason: 'Reason', deadline: 'Deadline',
    requested: 'requested', approved: 'approved', refused: 'refused', approve: 'Approve', refuse: 'Refuse',
    supervised: 'Supervised', escalation: 'Escalated', 'level.1': 'street', 'level.2': 'district',
    'level.3': 'city', target: 'target {n} min', onTarget: 'on target', offTarget: 'over target',
    notDispatched: 'not dispatched', shortcuts: 'Shortcuts', back: 'Back to the queue', signOut: 'Sign out',
    language: '中文', done: 'Done', required: 'required', metres: 'm', loading: 'Loading…', error: 'Error',
    reasonRequired: 'Returning needs a reason',
  },
};

export function w(key) {
  const lang = currentLang();
  return (WORDS[lang] && WORDS[lang][key]) || WORDS.zh[key] || '—';
}

// A history step, action or status in words; a code the page does not know shows as '—'.
export function actionLabel(action) { return w(`action.${action}`); }
export function statusLabel(status) { return w(`status.${status}`); }
export function channelLabel(channel) { return w(`channel.${channel}`); }

// Elements with data-w="key" get their text.
export function applyWords(root = document) {
  root.querySelectorAll('[data-w]').forEach((el) => { el.textContent = w(el.dataset.w); });
  root.querySelectorAll('[data-w-placeholder]').forEach((el) => { el.placeholder = w(el.dataset.wPlaceholder); });
}
