// Calls to the vaxbook API, which shares the page's origin (Firebase Hosting
// rewrites these paths to Cloud Run), so there is no CORS and no base URL.

// A request that hangs is as good as failed for someone on a bad
// connection; give them the error and the retry instead of a spinner.
const TIMEOUT_MS = 15000;

// request resolves to {status, body, retryAfter} for any HTTP answer, and
// rejects only when no answer came (network down, timeout).
async function request(path, init = {}) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), TIMEOUT_MS);
  try {
    const resp = await fetch(path, { ...init, signal: ctrl.signal, headers: { Accept: 'application/json', ...init.headers } });
    let body = null;
    try {
      body = await resp.json();
    } catch {
      // A proxy's HTML error page: the status says enough.
    }
    return { status: resp.status, body, retryAfter: Number(resp.headers.get('Retry-After')) || 0 };
  } finally {
    clearTimeout(timer);
  }
}

export const getConfig = () => request('/config');
export const getStates = () => request('/states');
export const getListing = (state) => request('/listppv?state=' + encodeURIComponent(state));
export const getStatus = (ref) => request('/status/' + encodeURIComponent(ref), { cache: 'no-store' });
export const getManage = (tok) => request('/manage', { cache: 'no-store', headers: { Authorization: 'Bearer ' + tok } });
export const getRegistration = (ref) => request('/registration/' + encodeURIComponent(ref), { cache: 'no-store' });

// post sends a booking (/submit) or a registration (/register).
export function post(path, body, idempotencyKey) {
  return request(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Idempotency-Key': idempotencyKey },
    body: JSON.stringify(body),
  });
}

// newKey makes the Idempotency-Key of one filled-in form: random, so two
// people never share one, and printable ASCII as the API requires.
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
