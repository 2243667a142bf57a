// Camera wall: reloads each snapshot every five seconds through the
// server's proxy (the browser never sees a camera's address), one at a
// time so a slow camera does not hold the others.
(function () {
  "use strict";
  var imgs = Array.prototype.slice.call(document.querySelectorAll("img[data-snap]"));
  if (!imgs.length) return;
  setInterval(function () {
    if (document.hidden) return;
    imgs.forEach(function (img) {
      var next = new Image();
      next.onload = function () { img.src = next.src; };
      next.src = img.dataset.snap + "?t=" + Date.now();
    });
  }, 5000);
  // The page itself (statuses, last seen) is reloaded every two minutes.
  setTimeout(function () { location.reload(); }, 120000);
})();
