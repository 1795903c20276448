// Where the report is: the plate's building, or the phone's position (WGS84) by
// geolocation, with a clear message when it is refused or unavailable.
import { t } from './words.js';

export function createPosition({ status, button, building }) {
  let current = null;
  let message = building ? ['atBuilding', { code: building }] : ['locating', {}];

  function show(key, vars = {}) {
    message = [key, vars];
    status.textContent = t(key, vars);
    status.classList.toggle('warn', key.startsWith('geo'));
  }

  function locate() {
    if (building) return;
    if (!navigator.geolocation) { show('geoUnsupported'); return; }
    show('locating');
    navigator.geolocation.getCurrentPosition((pos) => {
      const { longitude, latitude, accuracy } = pos.coords;
      current = { lon: longitude, lat: latitude };
      show('located', { lat: latitude.toFixed(6), lon: longitude.toFixed(6),
                        acc: Math.round(accuracy) });
    }, (err) => {
      current = null;
      show(err.code === err.PERMISSION_DENIED ? 'geoDenied' : 'geoFailed');
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
  }

  if (button) button.addEventListener('click', locate);
  show(...message);
  locate();
  return {
    current: () => current,
    relabel: () => show(...message),
  };
}
