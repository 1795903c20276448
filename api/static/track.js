// The evaluation form of a resident's tracking page (/t/{token}).
const form = document.getElementById('evaluation');
if (form) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const out = document.getElementById('evaluation-result');
    const picked = form.querySelector('input[name=satisfaction]:checked');
    if (!picked) { out.textContent = '请选择满意度 Please pick a score.'; return; }
    const body = {satisfaction: Number(picked.value)};
    if (form.comment.value.trim()) body.comment = form.comment.value.trim();
    out.textContent = '提交中… Sending…';
    try {
      const resp = await fetch(`/api/v1/track/${encodeURIComponent(form.dataset.token)}/evaluation`, {
        method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
      const data = await resp.json();
      if (resp.ok) {
        out.textContent = `感谢您的评价（${data.satisfaction} 分）。Thank you for your evaluation.`;
        form.querySelector('button').disabled = true;
        document.getElementById('status').dataset.status = data.status;
      } else {
        out.textContent = `未能提交：${data.message}`;
      }
    } catch (e) { out.textContent = '网络错误，请稍后重试。Network error, try again.'; }
  });
}
window.gridgovTrackReady = true;
