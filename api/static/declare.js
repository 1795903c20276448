// The self-declaration page of a building plate: /static/declare.html?b=BUILDING_CODE
const building = new URLSearchParams(location.search).get('b') || '';
document.getElementById('building').textContent = building;
const form = document.getElementById('declare');
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const out = document.getElementById('result');
  const body = {building_code: building, room_code: form.room_code.value.trim(),
                name: form.name.value.trim(), id_number: form.id_number.value.trim(),
                kind: form.kind.value};
  if (form.phone.value) body.phone = form.phone.value.trim();
  if (form.from_date.value) body.from_date = form.from_date.value;
  out.textContent = '提交中…';
  try {
    const resp = await fetch('/api/v1/people/declarations', {method: 'POST',
      headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
    const data = await resp.json();
    out.textContent = resp.ok
      ? `已提交，编号 ${data.id}，等待网格员核实。Sent; waiting for the grid worker.`
      : `未能提交：${data.message}`;
    if (resp.ok) form.reset();
  } catch (e) { out.textContent = '网络错误，请稍后重试。Network error, try again.'; }
});
