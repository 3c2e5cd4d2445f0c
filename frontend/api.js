// Calls to the API, on the page's own origin: no CORS.

// A hanging request is as good as failed on a bad connection: show the retry.
const TIMEOUT_MS = 15000;

// request resolves to {status, body, retryAfter}, or null if no answer came.
async function request(path, init = {}) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), TIMEOUT_MS);
  try {
    const resp = await fetch(path, { ...init, signal: ctrl.signal, headers: { Accept: 'application/json', ...init.headers } });
    // A proxy's HTML error page: the status says enough.
    const body = await resp.json().catch(() => null);
    return { status: resp.status, body, retryAfter: Number(resp.headers.get('Retry-After')) || 0 };
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

const fresh = { cache: 'no-store' };
export const getConfig = () => request('/config');
export const getStates = () => request('/states');
export const getListing = (state) => request('/listppv?state=' + encodeURIComponent(state));
export const getStatus = (ref) => request('/status/' + encodeURIComponent(ref), fresh);
export const getManage = (tok) => request('/manage', { ...fresh, headers: { Authorization: 'Bearer ' + tok } });
export const getRegistration = (ref) => request('/registration/' + encodeURIComponent(ref), fresh);

export const post = (path, body, key) =>
  request(path, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key }, body: JSON.stringify(body) });

// newKey: random, so two forms never share one, and printable ASCII.
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (x) => x.toString(16).padStart(2, '0')).join('');
}
