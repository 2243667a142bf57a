// The door-to-door volunteer's page. It works offline for a morning: the
// household list is kept in IndexedDB (one database per team), each visit
// is queued there with an id made on this phone, and the queue is sent
// whenever the phone is online. The server stores a visit id once, so
// sending the queue again after a lost answer loses and doubles nothing.
// Health declarations filled in here are encrypted at once to the team's
// public key (ECDH P-256 with a key pair for each declaration, HKDF-SHA-256,
// AES-256-GCM) and only the ciphertext is queued: the plaintext form is
// cleared, and this page cannot read a queued declaration back; it only
// counts them. After the link expires nothing more is recorded; what was
// recorded before is still sent for the grace the server allows. An item
// the server refuses (a field it names, or a household no longer the
// team's) is set aside, shown as refused with the server's reason, and the
// rest of the queue goes on; a network or server failure is retried with a
// growing delay.
(function () {
  "use strict";
  var root = document.getElementById("door");
  if (!root) return;
  var token = root.dataset.token, team = root.dataset.team, commune = root.dataset.commune, teamKey = root.dataset.key;
  var expiresAt = parseInt(root.dataset.expires, 10) || 0, graceUntil = parseInt(root.dataset.graceUntil, 10) || 0;
  var decls = [], rejected = 0;
  var rank = { nobody_home: 1, refused: 2, visited: 3 };
  var db = null, list = null, visits = [], syncing = false, expired = false;
  // failures: consecutive network or server failures, for the back-off;
  // suspects: ids of a batch refused as a whole (403, or a 400 naming no
  // item), sent one at a time until the refused one is found.
  var failures = 0, timer = null, suspects = [];
  // closed: past the grace, the server takes nothing more from this link.
  var closed = false;
  function now() { return Math.floor(Date.now() / 1000); }
  function linkExpired() { return root.dataset.expired === "1" || (expiresAt && now() >= expiresAt); }
  // unreachable: the last request failed (no signal, though the phone may
  // think itself online).
  var unreachable = false;
  function t(k) { return root.getAttribute("data-t-" + k) || k; }
  function $(id) { return document.getElementById(id); }

  // --- IndexedDB: meta (the list), visits and decls (sealed declarations),
  // both keyPath id with sent 0/1.
  function openDB() {
    return new Promise(function (res, rej) {
      var r = indexedDB.open("door-team-" + team, 2);
      r.onupgradeneeded = function (e) {
        if (e.oldVersion < 1) {
          r.result.createObjectStore("meta");
          r.result.createObjectStore("visits", { keyPath: "id" });
        }
        if (e.oldVersion < 2) r.result.createObjectStore("decls", { keyPath: "id" });
      };
      r.onsuccess = function () { res(r.result); };
      r.onerror = function () { rej(r.error); };
    });
  }
  function run(store, mode, fn) {
    return new Promise(function (res, rej) {
      var tx = db.transaction(store, mode), req = fn(tx.objectStore(store));
      tx.oncomplete = function () { res(req ? req.result : undefined); };
      tx.onerror = tx.onabort = function () { rej(tx.error); };
    });
  }
  function newID() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // --- Rendering: the household's state is the most advanced of the
  // server's and this phone's visits (the latest among equals).
  function stateOf(h) {
    var s = h.state || "", at = h.state_at || 0;
    visits.forEach(function (v) {
      if (v.household_id !== h.id) return;
      if ((rank[v.outcome] || 0) > (rank[s] || 0) || ((rank[v.outcome] || 0) === (rank[s] || 0) && v.visited_at >= at)) { s = v.outcome; at = v.visited_at; }
    });
    return s;
  }
  function render() {
    var ul = $("households"), q = ($("search").value || "").toLowerCase();
    ul.textContent = "";
    if (!list) return;
    if (!list.households.length) { var p = document.createElement("li"); p.textContent = t("none"); ul.appendChild(p); return; }
    list.households.forEach(function (h) {
      if (q && (h.address + " " + h.hamlet).toLowerCase().indexOf(q) < 0) return;
      var li = document.createElement("li"), s = stateOf(h);
      li.dataset.id = h.id;
      var a = document.createElement("span"); a.className = "addr";
      a.textContent = h.address + " · " + h.hamlet;
      var queued = visits.filter(function (v) { return v.household_id === h.id && !v.sent; }).length;
      if (queued) { var qs = document.createElement("span"); qs.className = "queued"; qs.textContent = " (" + t("pending") + ": " + queued + ")"; a.appendChild(qs); }
      var st = document.createElement("span"); st.className = "state " + (s || "none"); st.textContent = t("state-" + (s || "none"));
      li.appendChild(a); li.appendChild(st);
      if (!linkExpired()) {
        var b = document.createElement("button"); b.type = "button"; b.className = "small record"; b.textContent = t("record");
        b.addEventListener("click", function () { openForm(h); });
        li.appendChild(b);
      }
      ul.appendChild(li);
    });
  }
  function status() {
    var pending = visits.filter(function (v) { return !v.sent; }).length + decls.filter(function (d) { return !d.sent; }).length, el = $("sync");
    var sent = visits.filter(function (v) { return v.sent && v.status !== "rejected" && v.status !== "expired"; }).length +
      decls.filter(function (d) { return d.sent && d.status !== "rejected" && d.status !== "expired"; }).length;
    var text = expired ? t("expired") : pending ? t("pending") + ": " + pending : t("synced");
    if (linkExpired()) {
      var ex = $("expired");
      ex.textContent = (closed || (graceUntil && now() >= graceUntil) ? t("expired-over") : t("expired-grace")) +
        " " + t("pending") + ": " + pending + " · " + t("sent") + ": " + sent + (rejected ? " · " + t("rejected") + ": " + rejected : "");
      ex.hidden = false;
      $("visit").hidden = true; $("decl").hidden = true;
    }
    var dp = decls.filter(function (d) { return !d.sent; }).length, ds = decls.length - dp;
    $("decl-count").textContent = decls.length ? t("decl-queued") + ": " + t("pending") + " " + dp + " · " + t("sent") + " " + ds : "";
    $("decl-count").dataset.n = decls.length;
    var off = !navigator.onLine || unreachable;
    if (off) text = t("offline") + (pending ? " " + t("pending") + ": " + pending : "");
    if (!list && off) text = t("failed");
    $("sync-text").textContent = text;
    showRefused();
    el.className = off ? "offline" : "";
    el.dataset.pending = pending;
  }

  // refusedItems are the queued items the server will not take, with why.
  function refusedItems() {
    return visits.filter(function (v) { return v.status === "rejected"; }).map(function (v) { return { kind: "visit", item: v }; })
      .concat(decls.filter(function (d) { return d.status === "rejected"; }).map(function (d) { return { kind: "decl", item: d }; }));
  }
  function showRefused() {
    var ul = $("refused"), items = refusedItems();
    ul.textContent = "";
    ul.dataset.n = items.length;
    $("refused-box").hidden = !items.length;
    items.forEach(function (r) {
      var h = list && list.households.filter(function (x) { return x.id === r.item.household_id; })[0];
      var li = document.createElement("li");
      li.className = "refused " + r.kind;
      li.textContent = t("refused-" + r.kind) + (h ? " · " + h.address + " · " + h.hamlet : "") +
        (r.kind === "visit" ? " · " + t("state-" + r.item.outcome) : "") + ": " + (r.item.reason || t("rejected"));
      ul.appendChild(li);
    });
  }

  // --- The visit form.
  var form = $("visit"), current = null;
  function houseDecls() {
    var n = current ? decls.filter(function (d) { return d.household_id === current.id; }).length : 0;
    $("decl-house").textContent = n ? t("decl-saved") + ": " + n : "";
  }
  function openForm(h) {
    form.reset();
    form.elements.household_id.value = h.id;
    current = h;
    $("visit-address").textContent = h.address + " · " + h.hamlet;
    houseDecls();
    form.hidden = false;
    toggleCounts();
    form.scrollIntoView();
  }
  function toggleCounts() {
    var visited = form.querySelector("input[name=outcome]:checked").value === "visited";
    $("counts").hidden = !visited;
  }
  form.querySelectorAll("input[name=outcome]").forEach(function (r) { r.addEventListener("change", toggleCounts); });
  $("cancel").addEventListener("click", function () { form.hidden = true; });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var outcome = form.querySelector("input[name=outcome]:checked").value;
    function n(name) { return outcome === "visited" ? Math.max(0, Math.min(200, parseInt(form.elements[name].value, 10) || 0)) : 0; }
    if (linkExpired()) { status(); return; }
    var v = { id: newID(), household_id: parseInt(form.elements.household_id.value, 10), outcome: outcome,
      people: n("people"), no_smartphone: n("no_smartphone"), installs: n("installs"), declarations: n("declarations"),
      visited_at: now(), sent: 0 };
    run("visits", "readwrite", function (s) { return s.put(v); }).then(function () {
      visits.push(v);
      form.hidden = true;
      render(); status();
      sync();
    });
  });
  $("search").addEventListener("input", render);

  // --- Declarations filled in with help: sealed, then queued.
  var dform = $("decl");
  function b64u(buf) {
    var s = "", b = new Uint8Array(buf);
    for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function unb64u(s) {
    var bin = atob(s.replace(/-/g, "+").replace(/_/g, "/")), b = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) b[i] = bin.charCodeAt(i);
    return b;
  }
  var enc = new TextEncoder();
  // seal encrypts plain (a string) for the team; aad binds it to the
  // team, its id, household and time, as the server checks.
  function seal(d, plain) {
    var subtle = window.crypto && crypto.subtle, eph;
    if (!subtle || !teamKey) return Promise.reject(new Error("nocrypto"));
    var iv = crypto.getRandomValues(new Uint8Array(12));
    var aad = enc.encode("door-declaration/v1|" + team + "|" + d.id + "|" + d.household_id + "|" + d.made_at);
    return Promise.all([
      subtle.importKey("raw", unb64u(teamKey), { name: "ECDH", namedCurve: "P-256" }, false, []),
      subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"])
    ]).then(function (k) {
      eph = k[1];
      return subtle.deriveBits({ name: "ECDH", public: k[0] }, eph.privateKey, 256);
    }).then(function (secret) {
      return subtle.importKey("raw", secret, "HKDF", false, ["deriveKey"]);
    }).then(function (ikm) {
      return subtle.deriveKey({ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: enc.encode("anticovid door declaration v1") },
        ikm, { name: "AES-GCM", length: 256 }, false, ["encrypt"]);
    }).then(function (key) {
      return Promise.all([subtle.encrypt({ name: "AES-GCM", iv: iv, additionalData: aad }, key, enc.encode(plain)), subtle.exportKey("raw", eph.publicKey)]);
    }).then(function (r) {
      d.key = b64u(r[1]); d.iv = b64u(iv); d.data = b64u(r[0]);
      return d;
    });
  }
  // The server's birth year range: this year back to 120 years ago.
  (function () {
    var y = new Date().getFullYear();
    dform.elements.birth_year.min = y - 120;
    dform.elements.birth_year.max = y;
  })();
  $("decl-open").addEventListener("click", function () {
    if (!current || linkExpired()) return;
    dform.reset();
    dform.elements.street.value = current.address;
    $("decl-error").hidden = true;
    dform.hidden = false;
    dform.scrollIntoView();
  });
  $("decl-cancel").addEventListener("click", function () { dform.reset(); dform.hidden = true; });
  dform.addEventListener("submit", function (e) {
    e.preventDefault();
    if (!current || linkExpired()) { status(); return; }
    var el = dform.elements;
    function yes(name) { var c = dform.querySelector("input[name=" + name + "]:checked"); return c ? c.value === "yes" : null; }
    var sex = dform.querySelector("input[name=sex]:checked");
    var in_ = { kind: "resident", name: el.name.value, birth_year: parseInt(el.birth_year.value, 10) || 0, sex: sex ? sex.value : "",
      nationality: el.nationality.value, id_number: el.id_number.value, phone: el.phone.value, commune_code: commune, street: el.street.value,
      symptoms: Array.prototype.map.call(dform.querySelectorAll("input[name=symptoms]:checked"), function (c) { return c.value; }),
      contact_case: yes("contact_case"), animal_market: yes("animal_market"),
      vaccine_doses: el.vaccine_doses.value === "" ? null : parseInt(el.vaccine_doses.value, 10) };
    var d = { id: newID(), household_id: current.id, made_at: now(), sent: 0 };
    var plain = JSON.stringify(in_);
    in_ = null;
    dform.reset(); // the plaintext leaves the page before anything is kept
    seal(d, plain).then(function (sealed) {
      plain = null;
      return run("decls", "readwrite", function (s) { return s.put(sealed); }).then(function () {
        decls.push({ id: sealed.id, household_id: sealed.household_id, sent: 0 });
        dform.hidden = true;
        houseDecls(); status();
        sync();
      });
    }).catch(function () {
      plain = null;
      $("decl-error").textContent = t("decl-nocrypto");
      $("decl-error").hidden = false;
    });
  });
  $("sync-now").addEventListener("click", function () { load(); sync(); });

  // --- Sending the queue: in batches, marking what the server answered.
  // Sealed declarations are read from IndexedDB only to be sent as they
  // are; the page's own list of them holds ids, households and status.
  function later(ms) {
    clearTimeout(timer);
    timer = setTimeout(sync, ms);
  }
  function sync() {
    if (syncing || expired || closed || !navigator.onLine) { status(); return Promise.resolve(); }
    var queue = visits.filter(function (v) { return !v.sent; }).slice(0, 100);
    var dqueue = decls.filter(function (d) { return !d.sent; }).slice(0, 20);
    suspects = suspects.filter(function (id) { return queue.concat(dqueue).some(function (x) { return x.id === id; }); });
    if (suspects.length) { // one suspect at a time: its own answer says whether it is the refused one
      queue = queue.filter(function (v) { return v.id === suspects[0]; });
      dqueue = queue.length ? [] : dqueue.filter(function (d) { return d.id === suspects[0]; });
    }
    if (!queue.length && !dqueue.length) { status(); return Promise.resolve(); }
    syncing = true;
    var retryIn = 0;
    var body = { visits: queue.map(function (v) {
      return { id: v.id, household_id: v.household_id, outcome: v.outcome, people: v.people, no_smartphone: v.no_smartphone,
        installs: v.installs, declarations: v.declarations, visited_at: v.visited_at };
    }) };
    return Promise.all(dqueue.map(function (d) { return run("decls", "readonly", function (s) { return s.get(d.id); }); }))
      .then(function (sealed) {
        body.declarations = sealed.map(function (d) { return { id: d.id, household_id: d.household_id, made_at: d.made_at, key: d.key, iv: d.iv, data: d.data }; });
        return fetch("/api/v1/door/visits", { method: "POST", headers: { "Content-Type": "application/json", "X-Door-Link": token }, body: JSON.stringify(body) });
      })
      .then(function (res) {
        unreachable = false;
        if (res.status === 401) { if (linkExpired()) closed = true; else expired = true; return null; }
        if (res.status === 400 || res.status === 403) {
          // The API's error: {"error": {"code", "message", "fields"}}.
          return res.json().catch(function () { return {}; }).then(function (e) {
            var err = (e && e.error) || {};
            return { refused: err.fields || {}, message: err.message || "" };
          });
        }
        if (!res.ok) { // 5xx, 429: the queue stays, tried again later
          retryIn = (parseInt(res.headers.get("Retry-After"), 10) || 0) * 1000;
          throw new Error("status " + res.status);
        }
        return res.json();
      })
      .then(function (ans) {
        failures = 0;
        if (!ans) return;
        var done = {}, ddone = {}, why = {};
        var refuse = function (kind, item, reason) {
          (kind === "visits" ? done : ddone)[item.id] = "rejected";
          why[item.id] = reason;
        };
        if (ans.refused) {
          // Items the server named will never be accepted: set aside, with its reason.
          var named = 0;
          Object.keys(ans.refused).forEach(function (k) {
            var m = /^(visits|declarations)\[(\d+)\]/.exec(k);
            if (!m) return;
            var item = m[1] === "visits" ? queue[+m[2]] : dqueue[+m[2]];
            if (item) { named++; refuse(m[1], item, ans.refused[k]); }
          });
          if (!named) {
            // Refused as a whole (a household no longer the team's, or a
            // 400 naming no item): alone, the item is set aside; in a
            // batch, each is sent alone to find which.
            var all = queue.concat(dqueue);
            if (all.length === 1) {
              var only = all[0], reasons = Object.keys(ans.refused).map(function (k) { return ans.refused[k]; });
              refuse(queue.length ? "visits" : "declarations", only, reasons.concat(ans.message ? [ans.message] : []).join("; "));
            } else {
              suspects = all.map(function (x) { return x.id; });
            }
          }
        } else {
          ans.results.forEach(function (r) { done[r.id] = r.status; });
          (ans.declarations || []).forEach(function (r) { ddone[r.id] = r.status; });
        }
        if (suspects.length && (done[suspects[0]] || ddone[suspects[0]])) suspects.shift();
        var mark = function (list, answers) {
          return function (s) {
            list.forEach(function (v) {
              if (!answers[v.id]) return;
              if (answers[v.id] === "rejected" || answers[v.id] === "expired") rejected++;
              v.sent = 1; v.status = answers[v.id];
              if (why[v.id]) v.reason = why[v.id];
              if (s.name === "decls") {
                var req = s.get(v.id);
                req.onsuccess = function () {
                  var rec = req.result;
                  if (rec) { rec.sent = 1; rec.status = v.status; if (v.reason) rec.reason = v.reason; delete rec.data; delete rec.key; delete rec.iv; s.put(rec); }
                };
              } else s.put(v);
            });
          };
        };
        return run("visits", "readwrite", mark(queue, done)).then(function () { return run("decls", "readwrite", mark(dqueue, ddone)); });
      })
      .catch(function () {
        unreachable = true; // the queue stays
        failures++;
        // 2 s, 4 s, 8 s … up to 5 minutes (or what Retry-After says).
        retryIn = Math.max(retryIn, Math.min(300000, 2000 * Math.pow(2, failures - 1)));
      })
      .then(function () {
        syncing = false;
        render(); status();
        var more = visits.some(function (v) { return !v.sent; }) || decls.some(function (d) { return !d.sent; });
        if (more && navigator.onLine && !expired && !closed) later(retryIn || 500);
      });
  }

  // --- The household list: the kept copy first, then the server's.
  function load() {
    if (!navigator.onLine || linkExpired()) { render(); status(); return Promise.resolve(); }
    return fetch("/api/v1/door/households", { headers: { "X-Door-Link": token } })
      .then(function (res) {
        unreachable = false;
        if (res.status === 401) { expired = true; return null; }
        return res.ok ? res.json() : null;
      })
      .then(function (ans) {
        if (!ans) return;
        list = ans;
        return run("meta", "readwrite", function (s) { return s.put(ans, "list"); });
      })
      .catch(function () { unreachable = true; /* the kept copy stands */ })
      .then(function () { render(); status(); });
  }

  // --- The service worker keeps this page for offline reloads; it is told
  // which URLs built the page, then marks the page ready for offline.
  function keepOffline() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.addEventListener("message", function (e) {
      if (e.data && e.data.cached) root.dataset.offlineReady = "1";
    });
    navigator.serviceWorker.register("/di-tung-nha/sw.js", { scope: "/di-tung-nha/" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (reg) {
      var urls = [location.href];
      document.querySelectorAll("script[src]").forEach(function (s) { urls.push(s.src); });
      document.querySelectorAll("link[rel=stylesheet]").forEach(function (l) { urls.push(l.href); });
      reg.active.postMessage({ cache: urls });
    }).catch(function () { /* no offline copy: the page still works online */ });
  }

  openDB().then(function (d) {
    db = d;
    return Promise.all([run("meta", "readonly", function (s) { return s.get("list"); }), run("visits", "readonly", function (s) { return s.getAll(); }),
      run("decls", "readonly", function (s) { return s.getAll(); })]);
  }).then(function (r) {
    list = r[0] || null;
    visits = r[1] || [];
    // Only what the page shows is kept in memory: ids, households, sent.
    decls = (r[2] || []).map(function (d) { return { id: d.id, household_id: d.household_id, sent: d.sent, status: d.status, reason: d.reason }; });
    rejected = visits.concat(decls).filter(function (v) { return v.status === "rejected" || v.status === "expired"; }).length;
    render(); status();
    return load();
  }).then(function () {
    root.dataset.ready = "1";
    sync();
  });
  window.addEventListener("online", function () { failures = 0; status(); load().then(sync); });
  window.addEventListener("offline", status);
  setInterval(function () { if (!failures) sync(); }, 30000); // while failing, the back-off decides
  keepOffline();
})();
