// Staff scanner: reads personal QR codes and chip ID card QR codes with the
// device camera (qr-scanner, vendored) or takes a phone number by hand, and
// records entry or exit at this venue. Each scan gets its own id, so a retry
// never records twice.
(function () {
  "use strict";
  var root = document.getElementById("staff");
  if (!root) return;
  var venue = root.dataset.venue, status = document.getElementById("status"), log = document.getElementById("log");
  var T = root.dataset; // the page's texts in its language (data-t-*, from the catalog)
  var lastText = "", lastAt = 0, scanner = null;

  function uuid() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function say(cls, text) { status.innerHTML = ""; var p = document.createElement("p"); p.className = cls; p.textContent = text; status.appendChild(p); }
  function direction() { return document.querySelector("input[name=direction]:checked").value; }

  function send(body) {
    body.id = uuid();
    body.direction = direction();
    return fetch("/api/v1/venues/" + venue + "/scans", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
      .then(function (res) {
        if (res.ok) {
          var li = document.createElement("li");
          var t = new Date(res.body.at).toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Ho_Chi_Minh" });
          li.textContent = t + " · " + (res.body.direction === "in" ? T.tIn : T.tOut) + " · " + res.body.who;
          log.insertBefore(li, log.firstChild);
          say("ok", T.tRecorded + res.body.who);
          return true;
        }
        var f = (res.body.error && res.body.error.fields) || {};
        say("error", Object.keys(f).map(function (k) { return f[k]; }).join("; ") || (res.body.error && res.body.error.message));
        return false;
      }, function () { say("warn", T.tOffline); return false; });
  }

  document.getElementById("start").addEventListener("click", function () {
    if (!window.QrScanner) { say("error", T.tNoscan); return; }
    var video = document.getElementById("camera");
    video.hidden = false;
    scanner = scanner || new QrScanner(video, function (result) {
      var text = result.data || result;
      if (text === lastText && Date.now() - lastAt < 5000) return; // the same code held in front of the camera
      lastText = text; lastAt = Date.now();
      send({ qr: text });
    }, { returnDetailedScanResult: true, highlightScanRegion: true });
    scanner.start().catch(function () { say("error", T.tDenied); });
  });

  document.getElementById("manual").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var f = ev.target;
    send({ phone: f.phone.value.trim(), name: f.name.value.trim(), birth_year: parseInt(f.birth_year.value, 10) || 0 })
      .then(function (ok) { if (ok) f.reset(); });
  });
})();
