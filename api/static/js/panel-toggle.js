// On a narrow screen (a phone) the one-map's layer panel and legend fold away; this
// header button opens and closes them (onemap.css shows it only there).
const button = document.getElementById('panel-toggle');
button.addEventListener('click', () => {
  const open = document.body.classList.toggle('panel-open');
  button.setAttribute('aria-expanded', String(open));
});
