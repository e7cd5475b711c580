#!/usr/bin/env bash
# Screenshots of every section of a rendered report, one PNG per section, in headless Chromium.
# Usage: tools/report-screenshots.sh REPORT_DIR OUT_DIR [WIDTH]
# Each section is shown alone (the others hidden by an injected style) so that its PNG starts at its heading;
# the blank space below the section is cropped when Debian's python3-pil is installed.
set -euo pipefail
report=${1:?report directory (with index.html)}; out=${2:?output directory}; width=${3:-1100}
chromium=${CHROMIUM:-/usr/bin/chromium}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ids=$(grep -o '<section id="[^"]*"' "$report/index.html" | sed 's/<section id="\(.*\)"/\1/')
n=0
for id in $ids; do
  n=$((n + 1))
  page="$tmp/$id.html"
  sed "s#</style>#section:not(\#$id), nav { display: none; }\n</style>#" "$report/index.html" > "$page"
  png="$out/$(printf '%02d' $n)-$id.png"
  "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$tmp/profile" \
    --window-size="$width,8000" --screenshot="$png" "file://$page" >/dev/null 2>&1
  if /usr/bin/python3 -c 'import PIL' 2>/dev/null; then
    /usr/bin/python3 - "$png" <<'PY'
import sys
from PIL import Image, ImageChops
p = sys.argv[1]
im = Image.open(p).convert("RGB")
box = ImageChops.difference(im, Image.new("RGB", im.size, (255, 255, 255))).getbbox()
if box: im.crop((0, 0, im.size[0], min(im.size[1], box[3] + 20))).save(p)
PY
  fi
  echo "$png"
done
