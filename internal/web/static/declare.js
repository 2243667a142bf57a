// Health declaration form and personal QR page. The form works without
// JavaScript (the server validates everything and lists units after a
// "refresh" submit); this script only makes it nicer on a phone: the travel
// section shows for travel declarations only, district and commune lists
// follow the chosen province and district without a reload, the first error
// gets the focus, and the QR page gets a print button. No framework.
(function () {
  "use strict";
  var form = document.getElementById("form");
  var printBtn = document.getElementById("print");
  if (printBtn && window.print) {
    printBtn.hidden = false;
    printBtn.addEventListener("click", function () { window.print(); });
  }
  if (!form || !document.getElementById("declare")) return;

  var summary = document.getElementById("summary");
  if (summary) {
    var first = form.querySelector(".invalid input, .invalid select, .invalid textarea");
    (first || summary).focus();
  }

  // Travel details: only for travel and entry declarations.
  var travel = document.getElementById("travel");
  function showTravel() {
    var k = form.querySelector('input[name="kind"]:checked');
    travel.hidden = !k || k.value === "resident";
  }
  Array.prototype.forEach.call(form.querySelectorAll('input[name="kind"]'), function (r) {
    r.addEventListener("change", showTravel);
  });
  showTravel();

  if (!window.fetch) return; // keep the refresh buttons
  Array.prototype.forEach.call(form.querySelectorAll(".refresh"), function (b) { b.hidden = true; });

  var province = document.getElementById("province_code");
  var district = document.getElementById("district_code");
  var commune = document.getElementById("commune_code");
  function clear(select) { // keep "— choose —"
    while (select.lastElementChild && select.lastElementChild !== select.firstElementChild) select.removeChild(select.lastElementChild);
  }
  function fill(select, units) {
    clear(select);
    units.forEach(function (u) { select.add(new Option(u.name, u.code)); });
    select.disabled = false;
  }
  function children(code) {
    return fetch("/api/v1/units/" + encodeURIComponent(code) + "/children")
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (body) { return body.children || []; });
  }
  function fail(select) {
    // Offline or an error: fall back to the server round trip.
    Array.prototype.forEach.call(form.querySelectorAll(".refresh"), function (b) { b.hidden = false; });
    select.disabled = false;
  }

  province.addEventListener("change", function () {
    clear(district); clear(commune);
    if (!province.value) return;
    district.disabled = true;
    children(province.value).then(function (u) { fill(district, u); }, function () { fail(district); });
  });
  district.addEventListener("change", function () {
    clear(commune);
    if (!district.value) return;
    commune.disabled = true;
    children(district.value).then(function (u) { fill(commune, u); }, function () { fail(commune); });
  });
})();
