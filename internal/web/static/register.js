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
        status.textContent = status.dataset.tFound + Math.round(p.coords.accuracy) + " m";
      }, function () {
        status.textContent = status.dataset.tFailed;
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }

  // One submission at a time on a slow connection.
  form.addEventListener("submit", function () {
    var b = document.getElementById("submit");
    setTimeout(function () { b.disabled = true; }, 0);
  });
})();
