// The server's field rules (internal/booking), checked before sending.

const MAX_NAME = 100;
const MAX_EMAIL = 254;
const MYT = 8 * 3600 * 1000; // Malaysia is UTC+8 all year

// A tab in a name is refused, not folded, as the server does.
function name(v) {
  const s = v.trim().normalize('NFC');
  if (!s) return 'required';
  if (/[\p{Cc}\p{Bidi_Control}]/u.test(s)) return 'invalid';
  if ([...s.replace(/\s+/g, ' ')].length > MAX_NAME) return 'too_long';
  return '';
}

// A year above this one's is last century.
function icDate(digits, now) {
  const today = new Date(now.getTime() + MYT);
  const cy = today.getUTCFullYear();
  const [yy, mm, dd] = [0, 2, 4].map((i) => Number(digits.slice(i, i + 2)));
  let year = cy - (cy % 100) + yy;
  if (yy > cy % 100) year -= 100;
  const d = new Date(Date.UTC(year, mm - 1, dd));
  if (mm < 1 || mm > 12 || d.getUTCMonth() !== mm - 1 || d.getUTCDate() !== dd) return 'invalid_date';
  if (d > Date.UTC(cy, today.getUTCMonth(), today.getUTCDate())) return 'invalid_date';
  return '';
}

function idNumber(v, now) {
  const s = v.trim();
  if (!s) return 'required';
  if (/^[0-9-]+$/.test(s)) {
    const m = /^(\d{6})-?(\d{2})-?(\d{4})$/.exec(s);
    // Dashes in both places or neither.
    if (!m || (s.length !== 12 && s.length !== 14)) return 'invalid';
    return icDate(m[1], now);
  }
  return /^[A-Za-z0-9]{6,12}$/.test(s) && /[A-Za-z]/.test(s) ? '' : 'invalid';
}

// normalPhone: the E.164 form, or ''.
export function normalPhone(v) {
  let s = v.trim().replace(/[ -]/g, '');
  if (s.startsWith('00')) return '';
  if (s.startsWith('0')) s = '+60' + s.slice(1);
  return /^\+[1-9]\d{7,14}$/.test(s) ? s : '';
}

function phone(v) {
  if (!v.trim()) return 'required';
  return normalPhone(v) ? '' : 'invalid';
}

function email(v) {
  const s = v.trim();
  if (!s) return 'required';
  if (s.length > MAX_EMAIL) return 'too_long';
  const part = '[^\\s@"(),:;<>\\[\\]\\\\]+';
  return new RegExp(`^${part}@${part}\\.${part}$`, 'u').test(s) && !/\.\.|^\.|\.@|@\.|\.$/.test(s) ? '' : 'invalid';
}

const rules = { name, id_number: idNumber, phone, email, preferences: (v) => (v.length ? '' : 'required') };

// validate: {field: code} for the fields given.
export function validate(f, now = new Date()) {
  const errs = {};
  for (const [k, v] of Object.entries(f)) {
    const code = rules[k]?.(v, now);
    if (code) errs[k] = code;
  }
  return errs;
}
