#!/usr/bin/env bash
# The package as a user gets it: build the wheel from this checkout's files (as git sees them,
# so nothing git-ignored such as node_modules or static/vendor leaks in), install it into a fresh
# virtual environment OUTSIDE the checkout with requirements.txt's pins as constraints, and run
# it there: `facial-feedback analyze` on a real photo, then `facial-feedback serve` with one page,
# one static vendor file and one API call, then stop the server.
#
#   scripts/check_wheel.sh                       Python 3.13 (PYENV_VERSION=3.13.0 python3.13)
#   CHECK_PY="python3.12" scripts/check_wheel.sh another interpreter (a command line)
#   KEEP=DIR scripts/check_wheel.sh              keep the work folder (venv, wheel, logs) at DIR
#
# When CHECK_PY is not set and the wheel's Requires-Python excludes 3.13, it says so and uses
# the newest pyenv Python the wheel allows (until issue 15's runtime change lands, mediapipe
# 0.10.21 stops the package at 3.12); with CHECK_PY set it never falls back.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PHOTO=${PHOTO:-$REPO/../shared/media/single_face.jpg}
BUILD_PY=${BUILD_PY:-python3}
[ -f "$PHOTO" ] || { echo "check_wheel: $PHOTO not found (../shared beside the checkout)" >&2; exit 1; }

if [ -n "${KEEP:-}" ]; then WORK=$KEEP; rm -rf "$WORK"; mkdir -p "$WORK"; else WORK=$(mktemp -d /tmp/ff-check-wheel.XXXXXX); fi
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; fi
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
say() { echo "check_wheel: $*"; }
t_start=$(date +%s)

# 1. A clean copy of the checkout (tracked files + new files not ignored), and the wheel from it.
mkdir -p "$WORK/src" "$WORK/dist"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
  | tar --null -T - -cf - | tar -xf - -C "$WORK/src"
say "building the wheel from a clean copy in $WORK/src"
( cd "$WORK/src" && "$BUILD_PY" -m pip wheel -q --no-deps -w "$WORK/dist" . 2>&1 | grep -v "is ignored: it is neither" || true )
WHEEL=$(ls "$WORK"/dist/facial_feedback-*.whl 2>/dev/null | head -1)
[ -n "$WHEEL" ] || { echo "check_wheel: no wheel was built" >&2; exit 1; }
say "built $(basename "$WHEEL") ($(du -k "$WHEEL" | cut -f1) KB)"
"$BUILD_PY" - "$WHEEL" "$WORK/src" <<'EOF'
import pathlib, sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
pkg = pathlib.Path(sys.argv[2], "src")
# every model file and template of the checkout, plus the front-end file from npm
need = sorted(str(p.relative_to(pkg)) for sub in ("models", "web/templates") for p in (pkg / "facial_feedback" / sub).iterdir()
              if p.is_file() and p.name != ".gitignore")
need += ["facial_feedback/web/static/js/overlay.js", "facial_feedback/web/static/vendor/chart.umd.min.js",
         "facial_feedback/web/static/favicon.svg",
         "facial_feedback/cli.py"]
missing = [n for n in need if n not in names]
if missing:
    sys.exit(f"check_wheel: the wheel lacks {missing}")
EOF

# 2. The interpreter: 3.13 unless the wheel says it cannot run there.
requires=$(unzip -p "$WHEEL" '*.dist-info/METADATA' | sed -n 's/^Requires-Python: //p')
allows() {  # allows "3.13" ">=3.9,<3.13" -> exit status
  "$BUILD_PY" - "$1" "$2" <<'EOF'
import operator as op, sys
v = tuple(int(x) for x in sys.argv[1].split("."))
ops = {">=": op.ge, "<=": op.le, "==": op.eq, "!=": op.ne, ">": op.gt, "<": op.lt}
for spec in filter(None, (s.strip() for s in sys.argv[2].split(","))):
    o = next(k for k in (">=", "<=", "==", "!=", ">", "<") if spec.startswith(k))
    w = tuple(int(x) for x in spec[len(o):].strip().rstrip(".*").split(".")[:2])
    if not ops[o](v[:len(w)], w):
        sys.exit(1)
EOF
}
if [ -n "${CHECK_PY:-}" ]; then
  PY=$CHECK_PY
else
  PY="env PYENV_VERSION=3.13.0 python3.13"
  if ! allows 3.13 "$requires"; then
    for v in 3.12.1 3.11.7 3.10.13; do
      if allows "${v%.*}" "$requires"; then PY="env PYENV_VERSION=$v python${v%.*}"; break; fi
    done
    say "NOTE: the wheel says Requires-Python $requires, which excludes 3.13: checking on $PY instead"
  fi
fi

# 3. A fresh venv outside the checkout, the wheel and its dependencies at requirements.txt's pins.
grep -vE '^\s*(#|-e|-r|$)' requirements.txt > "$WORK/constraints.txt"
$PY -m venv "$WORK/venv"
V=$WORK/venv/bin
"$V/python" -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored: it is neither" || true
say "installing into $WORK/venv ($("$V/python" -c 'import sys; print(sys.version.split()[0])'))"
"$V/python" -m pip install -q "$WHEEL" -c "$WORK/constraints.txt" 2>&1 | grep -v "is ignored: it is neither" || true
"$V/python" -c "import facial_feedback" || { echo "check_wheel: the wheel did not install" >&2; exit 1; }
cd "$WORK"  # nothing from the checkout on sys.path from here on
"$V/python" - "$WORK/venv" <<'EOF'
import sys, importlib.metadata as md, facial_feedback
assert facial_feedback.__file__.startswith(sys.argv[1]), f"imported from {facial_feedback.__file__}, not the venv"
print(f"check_wheel: python {sys.version.split()[0]}, numpy {md.version('numpy')}, "
      f"facial_feedback from {facial_feedback.__file__}")
EOF
say "installed size $(du -sm "$WORK/venv" | cut -f1) MB (du -sm of the whole venv)"

# 4. analyze on a real photo.
"$V/facial-feedback" analyze "$PHOTO" | tee "$WORK/analyze.txt"
grep -q "1 face" "$WORK/analyze.txt" || { echo "check_wheel: analyze did not find the face in $PHOTO" >&2; exit 1; }
"$V/facial-feedback" analyze --json "$PHOTO" > "$WORK/analyze.json"
"$V/python" - "$WORK/analyze.json" <<'EOF'
import json, sys
row = json.loads(open(sys.argv[1]).readline())
f = row["faces"][0]
assert row["error"] is None and len(row["faces"]) == 1 and f["emotion"]["label"] in f["emotion"]["scores"], row
EOF

# 5. serve: a page, a vendor file from npm, an API call; then stop it.
PORT=$("$V/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export FACIAL_FEEDBACK_INSTANCE=$WORK/instance  # jobs, reports, history and the API token go here
"$V/facial-feedback" serve --help >/dev/null || { echo "check_wheel: no working 'facial-feedback serve'" >&2; exit 1; }
"$V/facial-feedback" serve --host 127.0.0.1 --port "$PORT" > "$WORK/serve.log" 2>&1 &
SERVER_PID=$!
URL=http://127.0.0.1:$PORT
for _ in $(seq 1 120); do
  curl -sf -o /dev/null "$URL/api/v1/meta" && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; echo "check_wheel: the server exited" >&2; exit 1; }
  sleep 0.5
done
curl -sf "$URL/" > "$WORK/page.html" || { cat "$WORK/serve.log" >&2; echo "check_wheel: GET / failed" >&2; exit 1; }
grep -q "vendor/chart.umd.min.js" "$WORK/page.html" || { echo "check_wheel: the live page lacks its chart.js tag" >&2; exit 1; }
curl -sf -o "$WORK/chart.js" "$URL/static/vendor/chart.umd.min.js" && grep -q "Chart" "$WORK/chart.js" \
  || { echo "check_wheel: /static/vendor/chart.umd.min.js is not served from the installed package" >&2; exit 1; }
curl -sf "$URL/favicon.ico" | grep -q "<svg" || { echo "check_wheel: /favicon.ico is not served" >&2; exit 1; }
curl -sf "$URL/api" | grep -q "/api/v1/analyze" || { echo "check_wheel: the /api page is not served" >&2; exit 1; }
TOKEN=()  # scripts prove they run as this user with the token the server writes (docs/security.md)
[ -f "$WORK/instance/api-token" ] && TOKEN=(-H "X-Facial-Feedback-Token: $(cat "$WORK/instance/api-token")")
curl -sf "${TOKEN[@]}" -F "image=@$PHOTO;type=image/jpeg" "$URL/api/v1/analyze" > "$WORK/api.json" \
  || { cat "$WORK/serve.log" >&2; echo "check_wheel: POST /api/v1/analyze failed" >&2; exit 1; }
"$V/python" - "$WORK/api.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["faces"]) == 1 and d["faces"][0]["emotion"]["label"], d
print(f"check_wheel: serve: GET / 200, chart.js served, POST /api/v1/analyze: {len(d['faces'])} face, "
      f"{d['faces'][0]['emotion']['label']}, {d['elapsed_ms']} ms")
EOF
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
say "OK in $(( $(date +%s) - t_start )) s"
