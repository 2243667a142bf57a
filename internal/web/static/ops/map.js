// The public COVID map: one request for /api/v1/public/map (cached by ETag),
// drawn with the vendored Leaflet. No tile server by default: districts are
// circles at schematic positions; a deployment may configure a tile URL.
// The lists and the chart beside it come rendered with the page.
(function () {
  "use strict";
  var cfg = document.getElementById("pm").dataset;
  var nf = new Intl.NumberFormat("vi-VN");
  var show = function (v) { return typeof v === "number" ? nf.format(v) : cfg.tHidden; };
  var num = function (v) { return typeof v === "number" ? v : 1; }; // a hidden count draws as a small circle
  var pad = function (n) { return (n < 10 ? "0" : "") + n; };
  var when = function (s) { // Asia/Ho_Chi_Minh is UTC+7 all year
    var d = new Date(new Date(s).getTime() + 7 * 3600 * 1000);
    return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + " " + pad(d.getUTCDate()) + "/" + pad(d.getUTCMonth() + 1);
  };
  var esc = function (s) { return String(s).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; }); };
  // On a phone the fifteen district names would pile up: there the name
  // shows on a tap, on a wide screen it stays.
  var labels = window.matchMedia("(min-width: 600px)").matches;
  var map = L.map("map", { zoomSnap: 0.25, attributionControl: !!cfg.tiles });
  if (cfg.tiles) L.tileLayer(cfg.tiles, { maxZoom: 18, attribution: cfg.attribution || "" }).addTo(map);
  fetch("/api/v1/public/map").then(function (r) { return r.json(); }).then(function (m) {
    var bounds = [];
    m.districts.forEach(function (d) {
      if (d.lat == null) return;
      var n = num(d.f0_14d);
      var color = n > 0 ? "#c92a2a" : "#868e96";
      if (d.lockdown || d.quarantine) color = "#5f3dc4";
      var c = L.circleMarker([d.lat, d.lon], { radius: 10 + Math.min(Math.sqrt(n) * 3, 30), color: color, weight: 2, fillColor: color, fillOpacity: 0.35 }).addTo(map);
      c.bindTooltip(d.name.replace(/^(Huyện|Thị xã|Thành phố) /, "") + (n > 0 ? " · " + show(d.f0_14d) : ""), { permanent: labels, direction: "center", className: "dlabel" });
      c.bindPopup("<b>" + esc(d.name) + "</b><br>" + cfg.tToday + ": " + show(d.f0_today) + "<br>" + cfg.tCases + " " + cfg.t14 + ": " + show(d.f0_14d) +
        (d.lockdown ? "<br>" + cfg.tLockdown : "") + (d.quarantine ? "<br>" + cfg.tQuarantine : ""));
      bounds.push([d.lat, d.lon]);
    });
    m.places.forEach(function (p) {
      if (p.lat == null) return;
      L.circleMarker([p.lat, p.lon], { radius: 6, color: "#f08c00", weight: 2, fillColor: "#f08c00", fillOpacity: 0.8 }).addTo(map)
        .bindPopup("<b>" + esc(p.name) + "</b><br>" + esc(p.category_name) + "<br>" + cfg.tFrom + " " + when(p.from) + " " + cfg.tTo + " " + when(p.to));
      bounds.push([p.lat, p.lon]);
    });
    if (bounds.length) map.fitBounds(bounds, { padding: [30, 30] }); else map.setView([10.65, 106.2], 9);
  });
})();
