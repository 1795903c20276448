// The outbox of the field app, in IndexedDB: shift starts and stops, track point batches,
// reports (with their photos as Blobs), check-ins and visits made with or without signal. Each item
// has an Idempotency-Key made when it was queued; items are sent one at a time in the order
// they were made, so a shift is known to the server before its points. An item is removed
// once the server answered 2xx (a replay of the same key answers the first result too). A
// network failure, 5xx, 401 or 429 stops the round (retried later, in order); another 4xx
// marks the item failed (shown in the queue; the round goes on).
const DB = 'gridgov-field';
const STORE = 'outbox';

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'seq',
                                                                      autoIncrement: true });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx(mode, run) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const out = run(t.objectStore(STORE));
    t.oncomplete = () => { db.close(); resolve(out && 'result' in out ? out.result : out); };
    t.onerror = () => { db.close(); reject(t.error); };
  });
}

export function newKey() {
  return crypto.randomUUID();
}

// Queue a request: {kind, url, body (JSON), photos (Blobs, reports only), label}.
export function enqueue(item) {
  return tx('readwrite', (s) => s.add({ key: newKey(), tries: 0, state: 'pending',
                                         error: null, created: new Date().toISOString(),
                                         ...item }));
}

export function items() {
  return tx('readonly', (s) => s.getAll());
}

function put(item) { return tx('readwrite', (s) => s.put(item)); }
function remove(seq) { return tx('readwrite', (s) => s.delete(seq)); }

function request(item, csrf) {
  const headers = { 'Idempotency-Key': item.key, Accept: 'application/json' };
  if (csrf) headers['X-CSRF-Token'] = csrf;
  let body;
  if (item.kind === 'report') {
    body = new FormData();
    body.append('event', JSON.stringify(item.body));
    (item.photos || []).forEach((p, i) => body.append('photos', p, p.name || `photo${i}.jpg`));
  } else {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(item.body);
  }
  return fetch(item.url, { method: 'POST', headers, body, credentials: 'same-origin' });
}

const STOP = new Set([401, 408, 429]);
let running = null;

// Send what is queued, in order; resolves to the number of items sent.
export function flush(csrf, onSent = () => {}) {
  if (!running) {
    running = (async () => {
      let sent = 0;
      for (const item of (await items()).sort((a, b) => a.seq - b.seq)) {
        if (item.state === 'failed') continue;
        let resp;
        try {
          resp = await request(item, csrf);
        } catch (e) {
          break;  // offline: the rest waits, in order
        }
        if (resp.ok) {
          await remove(item.seq);
          sent += 1;
          onSent(item, await resp.json().catch(() => null));
          continue;
        }
        item.tries += 1;
        item.error = `${resp.status} ${(await resp.json().catch(() => ({}))).code || ''}`.trim();
        if (resp.status >= 500 || STOP.has(resp.status)) {
          await put(item);
          break;
        }
        item.state = 'failed';
        await put(item);
      }
      return sent;
    })().finally(() => { running = null; });
  }
  return running;
}

// Put failed items back in line (the queue's retry button).
export async function retryFailed() {
  for (const item of await items()) {
    if (item.state === 'failed') {
      item.state = 'pending';
      await put(item);
    }
  }
}
