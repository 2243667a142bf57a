#!/usr/bin/env bash
# Copies the front-end libraries, at pinned versions from the npm registry,
# into internal/web/static/vendor/ (committed: nothing is fetched at run time,
# and no CDN is used). Run it only to change a version.
set -euo pipefail
cd "$(dirname "$0")/.."
out=internal/web/static/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm init -y >/dev/null && npm install --no-audit --no-fund --ignore-scripts \
  htmx.org@2.0.11 leaflet@1.9.4 chart.js@4.6.1 qr-scanner@1.4.2 >/dev/null)
m="$tmp/node_modules"
mkdir -p "$out/leaflet/images"
cp "$m/htmx.org/dist/htmx.min.js" "$out/htmx.min.js"
cp "$m/leaflet/dist/leaflet.js" "$m/leaflet/dist/leaflet.css" "$out/leaflet/"
cp "$m/leaflet/dist/images/"*.png "$out/leaflet/images/"
cp "$m/chart.js/dist/chart.umd.js" "$out/chart.umd.js"
cp "$m/qr-scanner/qr-scanner.umd.min.js" "$m/qr-scanner/qr-scanner-worker.min.js" "$out/"
mkdir -p "$out/licenses"
for p in htmx.org leaflet chart.js qr-scanner; do
  cp "$(ls "$m/$p"/LICENSE* | head -n 1)" "$out/licenses/$p.txt"
done
for p in htmx.org leaflet chart.js qr-scanner; do
  printf '%s %s %s\n' "$p" "$(node -p "require('$m/$p/package.json').version")" "$(node -p "require('$m/$p/package.json').license")"
done > "$out/VERSIONS"
cat "$out/VERSIONS"
