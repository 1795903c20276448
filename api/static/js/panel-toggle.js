// On a narrow screen (a phone) the one-map's layer panel (with the legend) and its
// dashboard fold away; these header buttons open one of them at a time (onemap.css shows
// the buttons only there: the layer panel slides in from the left, the dashboard rises as
// a sheet from the bottom).
const PANELS = { 'panel-toggle': 'panel-open', 'dashboard-toggle': 'dashboard-open' };

for (const [id, opened] of Object.entries(PANELS)) {
  document.getElementById(id).addEventListener('click', () => {
    const open = !document.body.classList.contains(opened);
    for (const [other, otherOpened] of Object.entries(PANELS)) {
      const shown = other === id && open;
      document.body.classList.toggle(otherOpened, shown);
      document.getElementById(other).setAttribute('aria-expanded', String(shown));
    }
  });
}
