// Photos taken with the phone's camera (or chosen), shown as removable thumbnails.
import { t } from './words.js';

export function createPhotos({ input, list, note, max }) {
  let files = [];

  function render() {
    list.querySelectorAll('img').forEach((img) => URL.revokeObjectURL(img.src));
    list.replaceChildren(...files.map((file, i) => {
      const li = document.createElement('li');
      const img = document.createElement('img');
      img.src = URL.createObjectURL(file);
      img.alt = t('photoAlt', { n: i + 1 });
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'remove';
      remove.dataset.index = String(i);
      remove.textContent = t('remove');
      li.append(img, remove);
      return li;
    }));
  }

  input.addEventListener('change', () => {
    const picked = [...input.files];
    const room = max - files.length;
    files = files.concat(picked.slice(0, Math.max(room, 0)));
    note.textContent = picked.length > room ? t('photosMax', { n: max }) : '';
    input.value = '';  // the same photo may be taken again after a removal
    render();
  });
  list.addEventListener('click', (ev) => {
    const button = ev.target.closest('button.remove');
    if (!button) return;
    files.splice(Number(button.dataset.index), 1);
    note.textContent = '';
    render();
  });

  return {
    files: () => files.slice(),
    clear() { files = []; note.textContent = ''; render(); },
    relabel: render,
  };
}
