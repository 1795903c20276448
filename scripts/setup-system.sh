#!/usr/bin/env bash
# Install the system packages gridgov needs, only those that are missing.
# Debian/Ubuntu: PostgreSQL server + PostGIS 3 (the distro's version), GDAL tools
# (ogrinfo for the OGC API test), Chromium (the one-map browser test), poppler (PDF plates),
# a CJK TrueType font embedded in the plate PDFs (fonts-wqy-microhei), psql,
# npm (the web client's assets).
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup-system: not root and no sudo; install postgresql + postgis by hand" >&2; exit 1
  fi
fi

missing=()
need() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || missing+=("$1"); }

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  missing+=("postgresql")
fi
for p in gdal-bin chromium poppler-utils fonts-wqy-microhei python3-venv; do need "$p"; done
command -v psql >/dev/null 2>&1 || missing+=("postgresql-client")  # psql "$(gridgov db url)"
command -v npm >/dev/null 2>&1 || missing+=("npm")  # the one-map's MapLibre GL and Leaflet

updated=0
install() {
  if [ "$updated" -eq 0 ]; then $SUDO apt-get update -qq; updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@"
}
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-system: installing ${missing[*]}"
  install "${missing[@]}"
fi

pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pg_version=$(basename "$(dirname "$pg_bin")")
if [ ! -f "/usr/share/postgresql/$pg_version/extension/postgis.control" ]; then
  echo "setup-system: installing postgresql-$pg_version-postgis-3"
  install "postgresql-$pg_version-postgis-3"
fi
# The Debian package starts a system cluster we do not use; leave it alone.
exit 0
