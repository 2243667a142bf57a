// Live dashboard: draws the charts and keeps every figure current through
// server-sent events (/api/v1/dashboard/stream). No framework; Chart.js is
// vendored.
(function () {
  "use strict";
  var root = document.getElementById("dash");
  if (!root) return;
  var fig = JSON.parse(root.dataset.figures);
  var labels = JSON.parse(root.dataset.labels);
  var nf = new Intl.NumberFormat("vi-VN");
  var pf = new Intl.NumberFormat("vi-VN", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  var hours = [];
  for (var h = 0; h < 24; h++) hours.push(h + "h");
  var dayLabel = function (d) { var p = d.split("-"); return p[2] + "/" + p[1]; };
  var charts = {};
  if (window.Chart) {
    Chart.defaults.font.family = "system-ui, sans-serif";
    Chart.defaults.animation = false;
    charts.hour = new Chart(document.getElementById("byHour"), {
      type: "bar",
      data: { labels: hours, datasets: [{ label: labels.checkins, data: fig.checkins_by_hour, backgroundColor: "#0b5cad" }] },
      options: { maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
    var ds = [{ label: labels.checkins, data: fig.checkins_by_day.map(function (d) { return d.n; }), borderColor: "#0b5cad",
      backgroundColor: "#0b5cad", yAxisID: "y", tension: 0 }];
    if (fig.available && fig.available.f0) {
      ds.push({ label: labels.f0, data: fig.f0_by_day.map(function (d) { return d.n; }), borderColor: "#c92a2a",
        backgroundColor: "#c92a2a", yAxisID: "y1", tension: 0 });
    }
    charts.day = new Chart(document.getElementById("byDay"), {
      type: "line",
      data: { labels: fig.checkins_by_day.map(function (d) { return dayLabel(d.day); }), datasets: ds },
      options: { maintainAspectRatio: false, scales: { y: { beginAtZero: true, position: "left", ticks: { precision: 0 } },
        y1: { beginAtZero: true, position: "right", display: ds.length > 1, ticks: { precision: 0 }, grid: { drawOnChartArea: false } } } }
    });
  }
  function update(f) {
    document.querySelectorAll("[data-f]").forEach(function (el) {
      var v = f[el.dataset.f];
      if (v === undefined) return;
      el.textContent = el.hasAttribute("data-pct") ? pf.format(v) : nf.format(v);
    });
    var at = new Date(f.at);
    document.getElementById("at").textContent = at.toLocaleTimeString("vi-VN", { timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit", second: "2-digit" }) +
      " " + at.toLocaleDateString("vi-VN", { timeZone: "Asia/Ho_Chi_Minh" });
    var bar = document.getElementById("bzbar");
    if (bar) bar.style.width = Math.min(f.bluezone_pct, 100) + "%";
    (f.children || []).forEach(function (c) {
      var row = document.querySelector('#children tr[data-unit="' + c.unit.code + '"]');
      if (!row) return;
      row.querySelectorAll("[data-c]").forEach(function (el) {
        if (el.textContent !== "—") el.textContent = nf.format(c[el.dataset.c]);
      });
    });
    if (charts.hour) {
      charts.hour.data.datasets[0].data = f.checkins_by_hour;
      charts.hour.update();
      charts.day.data.datasets[0].data = f.checkins_by_day.map(function (d) { return d.n; });
      if (charts.day.data.datasets[1]) charts.day.data.datasets[1].data = f.f0_by_day.map(function (d) { return d.n; });
      charts.day.update();
    }
  }
  var live = document.getElementById("live");
  if (window.EventSource) {
    var es = new EventSource("/api/v1/dashboard/stream?unit=" + encodeURIComponent(root.dataset.unit));
    es.addEventListener("figures", function (e) {
      live.className = "live";
      live.textContent = "● " + labels.live;
      update(JSON.parse(e.data));
    });
    es.onerror = function () {
      live.className = "live off";
      live.textContent = "● " + labels.offline;
    };
  }
})();
