// The words of the residents' report form, Chinese by default, English by switch
// (remembered in localStorage under the same key as the one-map's).
const WORDS = {
  zh: {
    title: '我要上报', category: '问题类型', categorySearch: '输入名称或编码搜索，如 垃圾',
    noMatch: '没有匹配的类型', chosen: '已选：{label}', photos: '现场照片（最多 {n} 张）',
    photosMax: '最多 {n} 张照片，多出的未加入', takePhoto: '拍照或选择照片', remove: '删除', photoAlt: '照片 {n}',
    position: '位置', locate: '重新定位', buildingCode: '或填写门牌上的楼栋编码',
    locating: '正在获取手机位置…', located: '已定位：{lat}, {lon}（精度约 {acc} 米）',
    atBuilding: '上报到本楼栋（{code}）', geoDenied: '未获准使用位置。请在浏览器中允许定位后点“重新定位”，或填写门牌上的楼栋编码。',
    geoFailed: '暂时无法获取位置。请到开阔处点“重新定位”，或填写门牌上的楼栋编码。',
    geoUnsupported: '此浏览器不能提供位置，请填写门牌上的楼栋编码。',
    description: '问题描述', phone: '联系电话（选填，不公开）', submit: '提交',
    sending: '提交中…', received: '已受理，编号 {id}。请保存查询链接：', follow: '查看办理进度',
    duplicate: '附近已有人上报同一问题，已合并办理（编号 {id}）。', forwarded: '该位置属于相邻辖区，已转交对方办理。',
    needCategory: '请先选择问题类型。', network: '网络错误，请稍后重试。', loadFailed: '问题类型加载失败，请刷新页面。',
    failed: '未能提交：{message}',
    'error.location_required': '需要位置：请允许手机定位，或填写门牌上的楼栋编码。',
    'error.outside_jurisdiction': '该位置不在本辖区内，无法受理。',
    'error.building_not_found': '没有这个楼栋编码，请核对门牌。',
    'error.unknown_category': '没有这个问题类型，请重新选择。',
    'error.too_many_photos': '照片太多，请删除几张后再提交。',
    'error.unsupported_media_type': '照片格式不支持，请用 JPEG、PNG 或 WebP。',
    'error.too_large': '照片文件太大，请删除后重拍。', 'error.image_too_large': '照片像素太多，请删除后重拍。',
    'error.invalid_coordinates': '手机位置无效，请重新定位。', 'error.invalid_text': '文字中有无法识别的字符，请修改后再提交。',
    'error.idempotency_key_reused': '这份上报已提交过，请刷新页面后重新填写。',
  },
  en: {
    title: 'Report a problem', category: 'Category', categorySearch: 'Type a name or code, e.g. litter',
    noMatch: 'No matching category', chosen: 'Chosen: {label}', photos: 'Photos (at most {n})',
    photosMax: 'At most {n} photos; the others were not added', takePhoto: 'Take or choose photos', remove: 'Remove', photoAlt: 'photo {n}',
    position: 'Location', locate: 'Locate again', buildingCode: 'or the building code on the plate',
    locating: 'Getting the phone\'s position…', located: 'Located: {lat}, {lon} (about {acc} m)',
    atBuilding: 'Reported at this building ({code})', geoDenied: 'Location was not allowed. Allow it in the browser and tap "Locate again", or enter the building code on the plate.',
    geoFailed: 'The position is not available now. Tap "Locate again" in the open, or enter the building code on the plate.',
    geoUnsupported: 'This browser gives no position; enter the building code on the plate.',
    description: 'Description', phone: 'Phone (optional, never shown)', submit: 'Submit',
    sending: 'Sending…', received: 'Received, number {id}. Keep the tracking link:', follow: 'Follow it',
    duplicate: 'Someone nearby reported the same problem; yours joined case {id}.', forwarded: 'This place belongs to a neighbouring jurisdiction; the report was handed over to it.',
    needCategory: 'Choose a category first.', network: 'Network error, try again.', loadFailed: 'The categories did not load; reload the page.',
    failed: 'Not sent: {message}',
    'error.location_required': 'A location is needed: allow the phone\'s location, or enter the building code on the plate.',
    'error.outside_jurisdiction': 'This place is outside our jurisdiction; the report cannot be taken.',
    'error.building_not_found': 'No building has this code; check the plate.',
    'error.unknown_category': 'No such category; choose again.',
    'error.too_many_photos': 'Too many photos; remove some and send again.',
    'error.unsupported_media_type': 'This photo format is not supported; use JPEG, PNG or WebP.',
    'error.too_large': 'A photo file is too large; remove it and take another.', 'error.image_too_large': 'A photo has too many pixels; remove it and take another.',
    'error.invalid_coordinates': 'The phone\'s position is not valid; locate again.', 'error.invalid_text': 'The text holds characters that cannot be read; edit it and send again.',
    'error.idempotency_key_reused': 'This report was sent already; reload the page to write a new one.',
  },
};

let lang = (localStorage.getItem('gridgov.lang') === 'en') ? 'en' : 'zh';

export function currentLang() { return lang; }

// The word of ``key`` in the current language, with {name} placeholders filled in.
export function t(key, vars = {}) {
  const text = WORDS[lang][key] ?? WORDS.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''));
}

// What to tell the resident about an error body {code, message} of the API.
export function errorText(body) {
  const key = `error.${body && body.code}`;
  if (WORDS[lang][key]) return t(key);
  return t('failed', { message: (body && body.message) || String(body && body.code) });
}

// Elements with data-w get their word, data-w-placeholder their placeholder.
export function applyWords(root, vars = {}) {
  root.querySelectorAll('[data-w]').forEach((el) => { el.textContent = t(el.dataset.w, vars); });
  root.querySelectorAll('[data-w-placeholder]').forEach((el) => {
    el.placeholder = t(el.dataset.wPlaceholder, vars);
  });
  document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
}

export function switchLang() {
  lang = lang === 'en' ? 'zh' : 'en';
  try { localStorage.setItem('gridgov.lang', lang); } catch (e) { /* private mode */ }
  return lang;
}
