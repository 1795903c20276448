// The report form of the phone page of a building plate (/b/{code}).
const form = document.getElementById('report');
const key = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const out = document.getElementById('result');
  const body = {category: form.category.value, description: form.description.value,
                building_code: form.dataset.building, channel: 'qr'};
  if (form.phone.value) body.reporter = {phone: form.phone.value};
  out.textContent = '提交中…';
  try {
    const resp = await fetch('/api/v1/events', {method: 'POST',
      headers: {'Content-Type': 'application/json', 'Idempotency-Key': key},
      body: JSON.stringify(body)});
    const data = await resp.json();
    const token = data.token || data.public_token;
    out.textContent = resp.ok
      ? `已受理，编号 ${data.id}，查询码 ${token}。Received, thank you. `
      : `未能提交：${data.message}`;
    if (resp.ok) {
      const link = document.createElement('a');
      link.id = 'track-link';
      link.href = `/t/${encodeURIComponent(token)}`;
      link.textContent = '查看办理进度 Follow it';
      out.append(link);
    }
  } catch (e) { out.textContent = '网络错误，请稍后重试。Network error, try again.'; }
});
