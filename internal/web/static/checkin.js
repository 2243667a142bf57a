// Citizen check-in: remembers the person on this phone, sends each scan with
// its own id, and keeps scans made offline in a queue that is sent when the
// connection returns. One tap is one record: the id is made once per tap, a
// retry sends the same id, and the buttons wait for the answer (a double tap
// or a slow network cannot make a second scan). It also offers the proof of
// the phone number once per device. No framework: it must load fast on a
// cheap phone over 3G.
(function () {
  "use strict";
  var root = document.getElementById("checkin");
  if (!root || !window.fetch || !window.localStorage) return; // the plain form still works
  var form = document.getElementById("form"), status = document.getElementById("status");
  var personBox = document.getElementById("person"), who = document.getElementById("who");
  var forget = document.getElementById("forget");
  var buttons = [document.getElementById("in"), document.getElementById("out")];
  var token = root.dataset.token, venueKey = "acv.in." + root.dataset.venue;
  var en = document.documentElement.lang === "en";
  // The page gives the texts in its language (data-t-*, from the catalog).
  var texts = root.dataset;
  var T = { saved: texts.tSaved, sending: texts.tSending, in: texts.tIn, out: texts.tOut, as: texts.tAs, fix: texts.tFix, unavailable: texts.tUnavailable, commune: texts.tCommune };

  function load(k, d) { try { return JSON.parse(localStorage.getItem(k)) || d; } catch (e) { return d; } }
  function save(k, v) { localStorage.setItem(k, JSON.stringify(v)); }
  function uuid() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function hhmm(iso) {
    var d = new Date(iso);
    return d.toLocaleTimeString(en ? "en-GB" : "vi-VN", { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Ho_Chi_Minh" }) +
      " " + d.toLocaleDateString("vi-VN", { timeZone: "Asia/Ho_Chi_Minh" });
  }
  function say(cls, text) { status.innerHTML = ""; var p = document.createElement("p"); p.className = cls; p.textContent = text; status.appendChild(p); }

  function showPerson() {
    var p = load("acv.person", null);
    showProof(p);
    personBox.hidden = !!p;
    who.hidden = forget.hidden = !p;
    if (p) who.textContent = T.as + p.name + " · " + p.phone.replace(/\D/g, "").replace(/^(\d{3})\d+(\d{3})$/, "$1****$2");
    var last = load(venueKey, null);
    document.getElementById("out").classList.toggle("primary", !!last);
    document.getElementById("in").classList.toggle("primary", !last);
  }

  // busy: a tap is waiting for its answer (or for the network to fail).
  var busy = false;
  function hold(on) {
    busy = on;
    buttons.forEach(function (b) { b.disabled = on; });
  }

  var flushing = false;
  function flush() {
    var queue = load("acv.queue", []);
    if (!flushing && !queue.length) hold(false);
    if (flushing || !queue.length) return Promise.resolve();
    flushing = true;
    var scan = queue[0];
    return fetch("/api/v1/checkins", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(scan) })
      .then(function (r) {
        // The server is busy or cannot reach its database: the scan stays
        // queued and goes again when the answer's Retry-After says (a
        // PostgreSQL restart takes seconds), else at the next turn.
        if (r.status === 429 || r.status >= 500) {
          flushing = false; hold(false);
          say("warn", r.status === 503 ? T.unavailable : T.saved);
          var after = parseInt(r.headers.get("Retry-After"), 10);
          if (after > 0) setTimeout(flush, Math.min(after, 60) * 1000);
          return;
        }
        return r.json().then(function (body) {
          var q = load("acv.queue", []).filter(function (s) { return s.id !== scan.id; });
          save("acv.queue", q);
          flushing = false;
          if (r.ok) {
            var person = load("acv.person", null);
            if (person && body.person_token) { person.token = body.person_token; save("acv.person", person); }
            if (scan.token === token) {
              if (scan.direction === "in") save(venueKey, body.at); else localStorage.removeItem(venueKey);
              say("ok", (scan.direction === "in" ? T.in : T.out) + hhmm(body.at));
            }
          } else {
            var f = (body.error && body.error.fields) || {};
            var msgs = Object.keys(f).map(function (k) { return f[k]; });
            if (f["person_token"] || Object.keys(f).some(function (k) { return k.indexOf("person.") === 0; })) {
              localStorage.removeItem("acv.person");
            }
            say("error", T.fix + (msgs.join("; ") || (body.error && body.error.message) || r.status));
          }
          showPerson();
          return flush();
        });
      }).catch(function () { flushing = false; hold(false); say("warn", T.saved); }); // no network, or no answer it could read
  }

  // Another province of residence: the server lists its communes.
  var show = document.getElementById("show-communes"), showing = false;
  show.hidden = true;
  document.getElementById("province").addEventListener("change", function () {
    showing = true;
    show.click();
  });

  form.addEventListener("submit", function (ev) {
    if (showing) return;
    ev.preventDefault();
    if (busy) return; // the tap before is still waiting for its answer
    var p = load("acv.person", null);
    if (!p && !form.commune_code.value) {
      // Nothing is queued without a home commune: the server would refuse
      // the scan when it arrives, maybe hours later, offline.
      say("error", T.commune);
      form.commune_code.focus();
      return;
    }
    hold(true);
    var direction = ev.submitter ? ev.submitter.value : "in";
    if (!p) {
      var d = {
        name: form.name.value.trim(), phone: form.phone.value.trim(),
        birth_year: parseInt(form.birth_year.value, 10) || 0, commune_code: form.commune_code.value,
        id_number: form.id_number.value.trim()
      };
      p = { name: d.name, phone: d.phone, details: d, token: "" };
      save("acv.person", p);
    }
    var scan = { id: uuid(), token: token, direction: direction, at: new Date().toISOString() };
    if (p.token) scan.person_token = p.token; else scan.person = p.details;
    var q = load("acv.queue", []);
    q.push(scan);
    save("acv.queue", q);
    say("muted", T.sending);
    showPerson();
    flush();
  });
  // The proof of the phone number: a code goes by SMS to the number stored
  // for the person this phone checks in as; the right code makes the server
  // set a cookie, and this phone's scans for that person count as proven.
  var proof = document.getElementById("proof"), proven = proof.dataset.proven;
  var proofSend = document.getElementById("proof-send"), proofCheck = document.getElementById("proof-check");
  var proofCode = document.getElementById("proof-code"), proofSent = document.getElementById("proof-sent");
  var proofStatus = document.getElementById("proof-status");
  function showProof(p) { proof.hidden = !(p && p.token && p.token !== proven); }
  function proofSay(cls, text) { proofStatus.innerHTML = ""; var e = document.createElement("p"); e.className = cls; e.textContent = text; proofStatus.appendChild(e); }
  function ask(path, body, button) {
    button.disabled = true;
    return fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) {
        return r.json().then(function (b) {
          button.disabled = false;
          if (r.ok) return b;
          var f = (b.error && b.error.fields) || {};
          proofSay("error", Object.keys(f).map(function (k) { return f[k]; }).join("; ") || (b.error && b.error.message) || r.status);
          return null;
        });
      }, function () { button.disabled = false; proofSay("warn", proof.dataset.tOffline); return null; });
  }
  proofSend.addEventListener("click", function () {
    var p = load("acv.person", null);
    if (!p || !p.token) return;
    ask("/api/v1/proof/code", { person_token: p.token }, proofSend).then(function (b) {
      if (!b) return;
      proofStatus.innerHTML = "";
      proofSent.hidden = false;
      proofSent.textContent = proof.dataset.tSent + b.phone;
      if (b.code) {
        var d = document.createElement("span");
        d.id = "proof-demo";
        d.textContent = " · " + proof.dataset.tDemo + b.code;
        proofSent.appendChild(d);
      }
      document.getElementById("proof-code-label").hidden = proofCheck.hidden = false;
      proofCode.focus();
    });
  });
  proofCheck.addEventListener("click", function () {
    var p = load("acv.person", null);
    if (!p || !p.token) return;
    ask("/api/v1/proof", { person_token: p.token, code: proofCode.value.trim() }, proofCheck).then(function (b) {
      if (!b) return;
      proven = p.token;
      proofSent.hidden = true;
      document.getElementById("proof-code-label").hidden = proofCheck.hidden = true;
      proofSay("ok", proof.dataset.tDone);
      proof.hidden = false; // keep the confirmation in view until the next scan
      proofSend.hidden = true;
    });
  });

  forget.addEventListener("click", function (ev) { ev.preventDefault(); localStorage.removeItem("acv.person"); showPerson(); });
  window.addEventListener("online", flush);
  setInterval(flush, 15000);
  showPerson();
  flush();
})();
