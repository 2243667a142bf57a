// The door-to-door volunteer's page. It works offline for a morning: the
// household list is kept in IndexedDB (one database per team), each visit
// is queued there with an id made on this phone, and the queue is sent
// whenever the phone is online. The server stores a visit id once, so
// sending the queue again after a lost answer loses and doubles nothing.
(function () {
  "use strict";
  var root = document.getElementById("door");
  if (!root) return;
  var token = root.dataset.token, team = root.dataset.team;
  var rank = { nobody_home: 1, refused: 2, visited: 3 };
  var db = null, list = null, visits = [], syncing = false, expired = false;
  // unreachable: the last request failed (no signal, though the phone may
  // think itself online).
  var unreachable = false;
  function t(k) { return root.getAttribute("data-t-" + k) || k; }
  function $(id) { return document.getElementById(id); }

  // --- IndexedDB: meta (the list) and visits (keyPath id, sent 0/1).
  function openDB() {
    return new Promise(function (res, rej) {
      var r = indexedDB.open("door-team-" + team, 1);
      r.onupgradeneeded = function () {
        r.result.createObjectStore("meta");
        r.result.createObjectStore("visits", { keyPath: "id" });
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
      var b = document.createElement("button"); b.type = "button"; b.className = "small record"; b.textContent = t("record");
      b.addEventListener("click", function () { openForm(h); });
      li.appendChild(a); li.appendChild(st); li.appendChild(b);
      ul.appendChild(li);
    });
  }
  function status() {
    var pending = visits.filter(function (v) { return !v.sent; }).length, el = $("sync");
    var text = expired ? t("expired") : pending ? t("pending") + ": " + pending : t("synced");
    var off = !navigator.onLine || unreachable;
    if (off) text = t("offline") + (pending ? " " + t("pending") + ": " + pending : "");
    if (!list && off) text = t("failed");
    $("sync-text").textContent = text;
    el.className = off ? "offline" : "";
    el.dataset.pending = pending;
  }

  // --- The visit form.
  var form = $("visit");
  function openForm(h) {
    form.reset();
    form.elements.household_id.value = h.id;
    $("visit-address").textContent = h.address + " · " + h.hamlet;
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
    var v = { id: newID(), household_id: parseInt(form.elements.household_id.value, 10), outcome: outcome,
      people: n("people"), no_smartphone: n("no_smartphone"), installs: n("installs"), declarations: n("declarations"),
      visited_at: Math.floor(Date.now() / 1000), sent: 0 };
    run("visits", "readwrite", function (s) { return s.put(v); }).then(function () {
      visits.push(v);
      form.hidden = true;
      render(); status();
      sync();
    });
  });
  $("search").addEventListener("input", render);
  $("sync-now").addEventListener("click", function () { load(); sync(); });

  // --- Sending the queue: in batches, marking what the server answered.
  function sync() {
    if (syncing || expired || !navigator.onLine) { status(); return Promise.resolve(); }
    var queue = visits.filter(function (v) { return !v.sent; }).slice(0, 100);
    if (!queue.length) { status(); return Promise.resolve(); }
    syncing = true;
    var body = { visits: queue.map(function (v) {
      return { id: v.id, household_id: v.household_id, outcome: v.outcome, people: v.people, no_smartphone: v.no_smartphone,
        installs: v.installs, declarations: v.declarations, visited_at: v.visited_at };
    }) };
    return fetch("/api/v1/door/visits", { method: "POST", headers: { "Content-Type": "application/json", "X-Door-Link": token }, body: JSON.stringify(body) })
      .then(function (res) {
        unreachable = false;
        if (res.status === 401) { expired = true; return null; }
        return res.ok ? res.json() : null;
      })
      .then(function (ans) {
        if (!ans) return;
        var done = {};
        ans.results.forEach(function (r) { done[r.id] = r.status; });
        return run("visits", "readwrite", function (s) {
          queue.forEach(function (v) { if (done[v.id]) { v.sent = 1; v.status = done[v.id]; s.put(v); } });
        });
      })
      .catch(function () { unreachable = true; /* the queue stays */ })
      .then(function () {
        syncing = false;
        render(); status();
        if (visits.some(function (v) { return !v.sent; }) && navigator.onLine && !expired) setTimeout(sync, 2000);
      });
  }

  // --- The household list: the kept copy first, then the server's.
  function load() {
    if (!navigator.onLine) return Promise.resolve();
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
    return Promise.all([run("meta", "readonly", function (s) { return s.get("list"); }), run("visits", "readonly", function (s) { return s.getAll(); })]);
  }).then(function (r) {
    list = r[0] || null;
    visits = r[1] || [];
    render(); status();
    return load();
  }).then(function () {
    root.dataset.ready = "1";
    sync();
  });
  window.addEventListener("online", function () { status(); load().then(sync); });
  window.addEventListener("offline", status);
  setInterval(sync, 30000);
  keepOffline();
})();
