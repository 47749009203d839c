#!/usr/bin/env bash
# Set up the web app's front-end libraries (and, with --browser, the test browser).
#
#   scripts/setup_web.sh            npm ci + copy the dist files into web/static/vendor (scripts/vendor_web.py)
#   scripts/setup_web.sh --browser  also apt-get install chromium and ffmpeg (browser tests, root only)
#
# Front-end libraries come from npm at set-up and are served by the app itself:
# no CDN, the app works with no internet. static/vendor is git-ignored.
set -euo pipefail
cd "$(dirname "$0")/.."
VENDOR=src/facial_feedback/web/static/vendor

if [ "${1:-}" = "--browser" ]; then
  if ! command -v chromium >/dev/null || ! command -v ffmpeg >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium ffmpeg
    else
      echo "setup_web: chromium/ffmpeg missing and not root: browser tests will skip" >&2
    fi
  fi
fi

if ! command -v npm >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
  else
    echo "setup_web: npm not found; install Node.js and npm (apt-get install -y nodejs npm)" >&2
    exit 1
  fi
fi
# The files and their names: package.json's "vendorFiles" (the wheel build copies the same ones).
python3 scripts/vendor_web.py "$VENDOR"
