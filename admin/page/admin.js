// The centres' staff page: sign in, the day list with check-in, sessions.
// No framework: a few fetches and DOM nodes. Texts in BM and EN.
'use strict';
(function () {
  var T = {
    ms: {
      title: 'vaxbook — Kakitangan pusat', signin: 'Log masuk', signout: 'Log keluar', email: 'E-mel',
      devNote: 'Log masuk pembangunan (vaxbook dev sahaja).', dayList: 'Senarai hari', centre: 'Pusat', date: 'Tarikh',
      search: 'Cari (rujukan atau nombor ID penuh)', show: 'Tunjuk', export: 'Muat turun CSV', addSession: 'Tambah sesi',
      time: 'Masa (HH:MM-HH:MM)', capacity: 'Kapasiti', add: 'Tambah', upload: 'Muat naik CSV sesi',
      uploadHint: 'Fail CSV dalam format vaxbook seed', uploadGo: 'Muat naik', attended: 'Hadir', noShow: 'Tidak hadir',
      undo: 'Batal tanda', name: 'Nama', reference: 'Rujukan', status: 'Kehadiran', actions: 'Tindakan',
      booked: 'ditempah', closed: 'DITUTUP', setCapacity: 'Tukar kapasiti', closeSession: 'Tutup sesi',
      confirmClose: 'Tutup sesi ini? Tiada tempahan baharu; setiap orang yang menempah diberitahu dan boleh menukar masa dalam tempoh sehari, kemudian tempahan yang tinggal dibatalkan.',
      confirmCloseDay: 'Tutup semua sesi pusat ini pada tarikh ini? Setiap orang yang menempah diberitahu dan boleh menukar masa dalam tempoh sehari.',
      closeDay: 'Tutup hari ini', closing: 'DITUTUP; tempahan yang tinggal dibatalkan pada', cancelRest: 'Batalkan yang tinggal sekarang',
      confirmCancelRest: 'Batalkan sekarang semua tempahan yang masih pada sesi ini? Setiap orang diberitahu.',
      closingDone: 'Ditutup; orang yang diberitahu boleh menukar masa: ',
      noSessions: 'Tiada sesi pada tarikh ini.', noBookings: 'Tiada tempahan.', saved: 'Disimpan.',
      added: 'Sesi ditambah.', uploaded: 'Sesi dimuat naik: ', closedDone: 'Sesi ditutup; tempahan dibatalkan: ',
      notStaff: 'Akaun ini tiada dalam senarai kakitangan.', failed: 'Tidak berjaya: ', newCapacity: 'Kapasiti baharu',
      signedInAs: 'Log masuk sebagai ', loading: 'Memuatkan…'
    },
    en: {
      title: 'vaxbook — Centre staff', signin: 'Sign in', signout: 'Sign out', email: 'E-mail',
      devNote: 'Development sign-in (vaxbook dev only).', dayList: 'Day list', centre: 'Centre', date: 'Date',
      search: 'Search (reference or full ID number)', show: 'Show', export: 'Download CSV', addSession: 'Add a session',
      time: 'Time (HH:MM-HH:MM)', capacity: 'Capacity', add: 'Add', upload: 'Upload sessions CSV',
      uploadHint: 'A CSV file in vaxbook seed format', uploadGo: 'Upload', attended: 'Attended', noShow: 'No-show',
      undo: 'Clear', name: 'Name', reference: 'Reference', status: 'Attendance', actions: 'Actions',
      booked: 'booked', closed: 'CLOSED', setCapacity: 'Change capacity', closeSession: 'Close session',
      confirmClose: 'Close this session? It takes no new bookings; each person booked is told and may move to another time for a day, then what stays is cancelled.',
      confirmCloseDay: "Close every session of this centre on this date? Each person booked is told and may move to another time for a day.",
      closeDay: 'Close this day', closing: 'CLOSED; what stays is cancelled at', cancelRest: 'Cancel what stays now',
      confirmCancelRest: 'Cancel now every booking still on this session? Each person is told.',
      closingDone: 'Closed; people told they may move: ',
      noSessions: 'No sessions on this date.', noBookings: 'No bookings.', saved: 'Saved.',
      added: 'Session added.', uploaded: 'Sessions loaded: ', closedDone: 'Session closed; bookings cancelled: ',
      notStaff: 'This account is not on the staff list.', failed: 'Not done: ', newCapacity: 'New capacity',
      signedInAs: 'Signed in as ', loading: 'Loading…'
    }
  };
  var lang = new URLSearchParams(location.search).get('lang') === 'en' ? 'en' : 'ms';
  var $ = function (id) { return document.getElementById(id); };
  function t(k) { return T[lang][k] || k; }

  function applyLang() {
    document.documentElement.lang = lang;
    document.title = t('title');
    document.querySelectorAll('[data-t]').forEach(function (el) { el.textContent = t(el.dataset.t); });
    document.querySelectorAll('[data-lang]').forEach(function (b) {
      b.setAttribute('aria-pressed', String(b.dataset.lang === lang));
    });
  }

  function say(text, isErr) {
    var m = $('msg');
    m.textContent = text;
    m.className = isErr ? 'err' : '';
  }

  function api(method, path, body, raw) {
    var opts = { method: method, headers: { 'X-Vaxbook-Admin': '1' }, credentials: 'same-origin' };
    if (body !== undefined) {
      if (raw) { opts.body = body; opts.headers['Content-Type'] = 'text/csv'; }
      else { opts.body = JSON.stringify(body); opts.headers['Content-Type'] = 'application/json'; }
    }
    return fetch('/admin' + path, opts).then(function (r) {
      if (r.status === 204) { return {}; }
      return r.json().then(function (j) {
        if (!r.ok) {
          var e = new Error((j.error && j.error.message) || r.status);
          e.status = r.status; e.code = j.error && j.error.code;
          throw e;
        }
        return j;
      });
    });
  }
  function failed(e) { say(e.code === 'not_staff' ? t('notStaff') : t('failed') + e.message, true); }

  function signIn(credential) {
    return api('POST', '/session', { credential: credential }).then(start, failed);
  }

  function start() {
    return api('GET', '/api/me').then(function (me) {
      $('signin').hidden = true;
      $('work').hidden = false;
      $('who').textContent = t('signedInAs') + me.email;
      var sel = $('centre');
      sel.textContent = '';
      me.centres.forEach(function (c) {
        var o = document.createElement('option');
        o.value = c.id; o.textContent = c.name + ' (' + c.state_name + ')';
        sel.appendChild(o);
      });
      // Today in Malaysia, whatever the device's zone.
      if (!$('date').value) { $('date').value = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10); }
      return load();
    });
  }

  function query() {
    return '?center=' + encodeURIComponent($('centre').value) + '&date=' + encodeURIComponent($('date').value) +
      ($('q').value.trim() ? '&q=' + encodeURIComponent($('q').value.trim()) : '');
  }

  function button(label, cls, onclick, pressed) {
    var b = document.createElement('button');
    b.type = 'button'; b.textContent = label;
    if (cls) { b.className = cls; }
    if (pressed !== undefined) { b.setAttribute('aria-pressed', String(pressed)); }
    b.addEventListener('click', onclick);
    return b;
  }

  function load() {
    $('export').href = '/admin/api/day.csv' + query();
    return api('GET', '/api/day' + query()).then(render, failed);
  }

  function render(day) {
    var box = $('sessions');
    box.textContent = '';
    if (!day.sessions.length) {
      var p = document.createElement('p'); p.textContent = t('noSessions'); box.appendChild(p);
      return;
    }
    day.sessions.forEach(function (s) {
      var sec = document.createElement('section');
      sec.className = 'session';
      sec.id = 'session-' + s.slot_id;
      var h = document.createElement('h3');
      h.id = 'h-' + s.slot_id;
      h.textContent = s.time + ' — ' + s.booked + '/' + s.capacity + ' ' + t('booked') +
        (s.cancel_at ? ' — ' + t('closing') + ' ' + new Date(s.cancel_at).toLocaleString(lang === 'en' ? 'en-MY' : 'ms-MY', { timeZone: 'Asia/Kuala_Lumpur' }) :
          s.closed ? ' — ' + t('closed') : '');
      sec.setAttribute('aria-labelledby', h.id);
      sec.appendChild(h);
      if (s.bookings.length) {
        var tbl = document.createElement('table');
        var cap = document.createElement('caption');
        cap.className = 'sr-only'; cap.textContent = s.time;
        tbl.appendChild(cap);
        var head = tbl.createTHead().insertRow();
        ['name', 'reference', 'status', 'actions'].forEach(function (k) {
          var th = document.createElement('th'); th.scope = 'col'; th.textContent = t(k); head.appendChild(th);
        });
        var body = tbl.createTBody();
        s.bookings.forEach(function (b) {
          var tr = body.insertRow();
          tr.id = 'b-' + b.reference;
          tr.insertCell().textContent = b.name;
          tr.insertCell().textContent = b.reference;
          tr.insertCell().textContent = b.attendance === 'attended' ? t('attended') : b.attendance === 'no_show' ? t('noShow') : '—';
          var td = tr.insertCell(); td.className = 'actions';
          [['attended', 'attended'], ['no_show', 'noShow'], ['', 'undo']].forEach(function (a) {
            var btn = button(t(a[1]), a[0] ? '' : 'alt', function () {
              api('POST', '/api/bookings/' + encodeURIComponent(b.reference) + '/attendance', { attendance: a[0] })
                .then(function () { say(t('saved')); return load(); }, failed);
            }, a[0] ? b.attendance === a[0] : undefined);
            btn.setAttribute('aria-label', t(a[1]) + ': ' + b.name);
            td.appendChild(btn);
          });
        });
        sec.appendChild(tbl);
      } else {
        var none = document.createElement('p'); none.textContent = t('noBookings'); sec.appendChild(none);
      }
      if (!s.closed) {
        var tools = document.createElement('div'); tools.className = 'tools';
        var wrap = document.createElement('div');
        var lbl = document.createElement('label');
        var inp = document.createElement('input');
        inp.type = 'number'; inp.min = '0'; inp.max = '100000'; inp.value = s.capacity; inp.id = 'cap-' + s.slot_id;
        lbl.htmlFor = inp.id; lbl.textContent = t('newCapacity');
        wrap.appendChild(lbl); wrap.appendChild(inp);
        tools.appendChild(wrap);
        tools.appendChild(button(t('setCapacity'), '', function () {
          api('POST', '/api/slots/' + encodeURIComponent(s.slot_id) + '/capacity', { capacity: Number(inp.value) })
            .then(function () { say(t('saved')); return load(); }, failed);
        }));
        tools.appendChild(button(t('closeSession'), 'alt', function () {
          closeWith(t('confirmClose'), '/api/slots/' + encodeURIComponent(s.slot_id) + '/close', {});
        }));
        sec.appendChild(tools);
      } else if (s.cancel_at) {
        var rest = document.createElement('div'); rest.className = 'tools';
        rest.appendChild(button(t('cancelRest'), 'alt', function () {
          closeWith(t('confirmCancelRest'), '/api/slots/' + encodeURIComponent(s.slot_id) + '/close', { offer_change: false });
        }));
        sec.appendChild(rest);
      }
      box.appendChild(sec);
    });
  }

  // closeWith closes, once staff confirm, and says what it did.
  function closeWith(question, path, body) {
    if (!window.confirm(question)) { return; }
    api('POST', path, body).then(function (r) {
      say(r.told ? t('closingDone') + r.told : t('closedDone') + r.cancelled);
      return load();
    }, failed);
  }

  document.addEventListener('DOMContentLoaded', function () {
    applyLang();
    document.querySelectorAll('[data-lang]').forEach(function (b) {
      b.addEventListener('click', function () { lang = b.dataset.lang; applyLang(); if (!$('work').hidden) { load(); } });
    });
    $('dev-signin').addEventListener('submit', function (e) { e.preventDefault(); signIn('dev:' + $('dev-email').value); });
    $('signout').addEventListener('click', function () {
      api('DELETE', '/session').then(function () { location.reload(); });
    });
    $('day-form').addEventListener('submit', function (e) { e.preventDefault(); load(); });
    $('close-day').addEventListener('click', function () {
      closeWith(t('confirmCloseDay'), '/api/centres/' + encodeURIComponent($('centre').value) + '/days/' + encodeURIComponent($('date').value) + '/close', {});
    });
    $('add-form').addEventListener('submit', function (e) {
      e.preventDefault();
      api('POST', '/api/slots', { center_id: $('centre').value, date: $('date').value, time: $('add-time').value, capacity: Number($('add-capacity').value) })
        .then(function () { say(t('added')); return load(); }, failed);
    });
    $('upload-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var f = $('upload-file').files[0];
      if (!f) { return; }
      f.text().then(function (text) { return api('POST', '/api/slots/upload', text, true); })
        .then(function (r) { say(t('uploaded') + r.slots); return load(); }, failed);
    });
    // Already signed in (the cookie), or show the way in.
    start().catch(function () {
      api('GET', '/api/config').then(function (cfg) {
        if (cfg.dev) { $('dev-signin').hidden = false; return; }
        if (!cfg.client_id) { return; }
        var s = document.createElement('script');
        s.src = 'https://accounts.google.com/gsi/client';
        s.onload = function () {
          google.accounts.id.initialize({ client_id: cfg.client_id, callback: function (r) { signIn(r.credential); } });
          google.accounts.id.renderButton($('google-button'), { type: 'standard', locale: lang });
        };
        document.head.appendChild(s);
      });
    });
  });
}());
