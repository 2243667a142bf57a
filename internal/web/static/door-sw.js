// The door-to-door volunteers' service worker: it keeps the volunteer page
// and the static files it uses, so a phone without signal all morning can
// reload it. Pages are network first (a revoked or expired link shows at
// once when online), falling back to the copy kept; static files carry
// their content hash in the URL, so a kept copy is always the right one.
// The API is never answered from here: the page keeps its data in
// IndexedDB and queues visits itself.
"use strict";
var CACHE = "door-v1";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (e) {
  e.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf("door-") === 0 && k !== CACHE; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

// The page sends the URLs it was built from (itself, scripts, styles):
// they were fetched before this worker controlled the page.
self.addEventListener("message", function (e) {
  var urls = (e.data && e.data.cache) || [];
  e.waitUntil(caches.open(CACHE).then(function (c) {
    return Promise.all(urls.map(function (u) {
      if (new URL(u, self.location.href).origin !== self.location.origin) return null;
      return fetch(u, { credentials: "same-origin" }).then(function (res) { if (res.ok) return c.put(u, res); });
    }));
  }).then(function () { if (e.source) e.source.postMessage({ cached: urls.length }); }));
});

self.addEventListener("fetch", function (e) {
  var req = e.request;
  if (req.method !== "GET") return;
  var url = new URL(req.url);
  if (url.origin !== self.location.origin || url.pathname.indexOf("/api/") === 0) return;
  if (req.mode === "navigate") {
    e.respondWith(fetch(req).then(function (res) {
      if (res.ok) { var copy = res.clone(); caches.open(CACHE).then(function (c) { c.put(req, copy); }); }
      return res;
    }).catch(function () {
      return caches.match(req, { ignoreSearch: true }).then(function (hit) { return hit || Response.error(); });
    }));
    return;
  }
  if (url.pathname.indexOf("/static/") === 0 || url.pathname === "/favicon.ico") {
    e.respondWith(caches.match(req).then(function (hit) {
      return hit || fetch(req).then(function (res) {
        if (res.ok) { var copy = res.clone(); caches.open(CACHE).then(function (c) { c.put(req, copy); }); }
        return res;
      });
    }));
  }
});
