// Venue registration: shows the fields of the chosen category's kind (events
// have a start and an end, vehicles a plate and a route), narrows the commune
// list to the chosen district, and fills the GPS point from the phone. The
// server validates everything either way; without JavaScript every field shows.
(function () {
  "use strict";
  var form = document.getElementById("venue-form");
  if (!form) return;
  var category = document.getElementById("category");
  var district = document.getElementById("district");
  var commune = document.getElementById("commune");

  function kind() {
    var o = category.options[category.selectedIndex];
    return (o && o.dataset.kind) || "place";
  }
  function showKind() {
    var k = kind();
    Array.prototype.forEach.call(form.querySelectorAll("[data-kinds]"), function (el) {
      el.hidden = el.dataset.kinds.split(" ").indexOf(k) < 0;
    });
  }
  category.addEventListener("change", showKind);
  showKind();

  // A national deployment lists one province's districts: choosing another
  // province asks the server for its list (the button does it without script).
  var province = document.getElementById("province"), refresh = document.getElementById("refresh-units");
  if (province && refresh) {
    refresh.hidden = true;
    province.addEventListener("change", function () { refresh.click(); });
  }

  // The district picks which communes are offered; choosing a commune
  // directly (no district) sets the district.
  var groups = commune.querySelectorAll("optgroup");
  function showCommunes() {
    var d = district.value;
    Array.prototype.forEach.call(groups, function (g) {
      var on = !d || g.dataset.district === d;
      g.hidden = !on;
      g.disabled = !on;
    });
    var o = commune.options[commune.selectedIndex];
    if (d && o && o.parentNode.dataset && o.parentNode.dataset.district !== d) commune.value = "";
  }
  district.addEventListener("change", showCommunes);
  commune.addEventListener("change", function () {
    var o = commune.options[commune.selectedIndex];
    if (o && o.parentNode.dataset && o.parentNode.dataset.district) district.value = o.parentNode.dataset.district;
  });
  if (!district.value) {
    var sel = commune.options[commune.selectedIndex];
    if (sel && sel.parentNode.dataset && sel.parentNode.dataset.district) district.value = sel.parentNode.dataset.district;
  }
  showCommunes();

  // GPS: optional, and only where the browser offers it (HTTPS or localhost).
  var locate = document.getElementById("locate"), status = document.getElementById("locate-status");
  if (navigator.geolocation && locate) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      status.textContent = status.dataset.tFinding;
      navigator.geolocation.getCurrentPosition(function (p) {
        document.getElementById("lat").value = p.coords.latitude.toFixed(6);
        document.getElementById("lon").value = p.coords.longitude.toFixed(6);
        document.getElementById("lat").dispatchEvent(new Event("change"));
        status.textContent = status.dataset.tFound + Math.round(p.coords.accuracy) + " m";
      }, function () {
        status.textContent = status.dataset.tFailed;
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }

  // The map pin (when the deployment has map tiles): a tap places the
  // venue, the pin can be dragged, and typed or GPS coordinates move it.
  var pin = document.getElementById("pin-map"), lat = document.getElementById("lat"), lon = document.getElementById("lon");
  if (pin && window.L) {
    var at = function () { var a = parseFloat(lat.value.replace(",", ".")), o = parseFloat(lon.value.replace(",", ".")); return isNaN(a) || isNaN(o) ? null : [a, o]; };
    var start = at();
    var map = L.map(pin).setView(start || [16.0, 106.0], start ? 16 : 5);
    L.tileLayer(pin.dataset.tiles, { maxZoom: 19, attribution: pin.dataset.attribution || "" }).addTo(map);
    var marker = null;
    var place = function (ll, pan) {
      if (!marker) {
        marker = L.marker(ll, { draggable: true }).addTo(map);
        marker.on("dragend", function () { var p = marker.getLatLng(); lat.value = p.lat.toFixed(6); lon.value = p.lng.toFixed(6); });
      } else {
        marker.setLatLng(ll);
      }
      if (pan) map.setView(ll, Math.max(map.getZoom(), 16));
    };
    if (start) place(start, false);
    map.on("click", function (e) { lat.value = e.latlng.lat.toFixed(6); lon.value = e.latlng.lng.toFixed(6); place(e.latlng, false); });
    [lat, lon].forEach(function (el) { el.addEventListener("change", function () { var ll = at(); if (ll) place(ll, true); }); });
  }

  // One submission at a time on a slow connection.
  form.addEventListener("submit", function () {
    var b = document.getElementById("submit");
    setTimeout(function () { b.disabled = true; }, 0);
  });
})();
