// Door-to-door coverage map: one point per hamlet with coordinates,
// coloured by the share of its households visited (the table's rows).
(function () {
  "use strict";
  var el = document.getElementById("door-map");
  if (!el || !window.L) return;
  var map = L.map(el, { zoomSnap: 0.25 });
  L.tileLayer(el.dataset.tiles, { maxZoom: 18, attribution: el.dataset.attribution || "" }).addTo(map);
  var pts = [];
  document.querySelectorAll("#door-areas tbody tr").forEach(function (tr) {
    if (!tr.dataset.lat) return;
    var ll = [parseFloat(tr.dataset.lat), parseFloat(tr.dataset.lng)];
    var pct = parseInt(tr.dataset.pct, 10) || 0;
    var color = pct >= 80 ? "#2b8a3e" : pct >= 40 ? "#f08c00" : "#c92a2a";
    L.circleMarker(ll, { radius: 10, color: color, weight: 2, fillColor: color, fillOpacity: 0.5 })
      .bindTooltip(tr.dataset.name + " · " + pct + "%").addTo(map);
    pts.push(ll);
  });
  if (pts.length) map.fitBounds(pts, { padding: [30, 30], maxZoom: 15 });
})();
