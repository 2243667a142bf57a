// app.js runs on every page. The Content-Security-Policy allows no inline
// script and no style attribute, so what pages used to say inline is said
// with data attributes and done here:
//   form[data-confirm], button[data-confirm]  asks before submitting (closing,
//                       deleting, sending); a button's question is for that button only
//   [data-width], [data-left]  size a bar or place a mark, in percent
//   [data-reload]  reloads the page after that many milliseconds (a running job)
(function () {
  "use strict";
  document.addEventListener("submit", function (e) {
    var f = e.target, q = (e.submitter && e.submitter.dataset.confirm) || (f instanceof HTMLFormElement && f.dataset.confirm);
    if (q && !window.confirm(q)) e.preventDefault();
  });
  function pct(v) { var n = parseFloat(v); return isFinite(n) ? Math.min(Math.max(n, 0), 100) + "%" : ""; }
  function apply() {
    document.querySelectorAll("[data-width]").forEach(function (el) { el.style.width = pct(el.dataset.width); });
    document.querySelectorAll("[data-left]").forEach(function (el) { el.style.left = pct(el.dataset.left); });
    var r = document.querySelector("[data-reload]");
    if (r) {
      var ms = parseInt(r.dataset.reload, 10);
      if (ms > 0) setTimeout(function () { location.reload(); }, ms);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", apply);
  else apply();
})();
