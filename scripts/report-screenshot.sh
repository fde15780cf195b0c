#!/usr/bin/env bash
# Takes a PNG screenshot of an HTML report with headless Chromium, to check how the
# report looks (or attach a picture of it) without opening a browser.
#
# Usage: scripts/report-screenshot.sh [REPORT_HTML] [OUT_PNG]
#   REPORT_HTML  defaults to results/latest.html, the newest run's report
#   OUT_PNG      defaults to REPORT_HTML with .png for .html
#   -h, --help   this text
# Environment:
#   WIDTH, HEIGHT  window size in pixels (default 1400 x 4000: tall enough for the
#                  header and the first rows of charts); the screenshot is the window.
#   CHROMIUM       the browser binary, if it is not on PATH under a usual name.
# Example: WIDTH=1000 scripts/report-screenshot.sh results/latest.html /tmp/report.png
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib/common.sh
source "$here/lib/common.sh"
usage_if_asked "$@"
(($# <= 2)) || usage_error "at most two arguments, not $#"

report=${1:-results/latest.html}
out=${2:-${report%.html}.png}
width=${WIDTH:-1400}
height=${HEIGHT:-4000}

if [[ ! -f $report ]]; then
    echo "report-screenshot: no such report: $report" >&2
    echo "  write one first, e.g.: cargo run --release (which makes results/latest.html)" >&2
    exit 1
fi

browser=${CHROMIUM:-}
if [[ -z $browser ]]; then
    for candidate in chromium chromium-browser google-chrome google-chrome-stable; do
        if command -v "$candidate" >/dev/null 2>&1; then
            browser=$candidate
            break
        fi
    done
fi
if [[ -z $browser ]]; then
    echo "report-screenshot: no Chromium found (tried chromium, chromium-browser, google-chrome)." >&2
    echo "  install it with: sudo apt-get install chromium" >&2
    echo "  or point CHROMIUM at the binary." >&2
    exit 1
fi

abs_report=$(cd "$(dirname "$report")" && pwd)/$(basename "$report")
mkdir -p "$(dirname "$out")"
abs_out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
rm -f "$abs_out"

# No network, no first-run or update machinery: the report is a local file and needs
# nothing else, and a screenshot should not depend on what the profile downloads.
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars \
    --window-size="$width,$height" --screenshot="$abs_out" \
    "file://$abs_report" >"$profile/chromium.log" 2>&1 || {
    echo "report-screenshot: $browser failed:" >&2
    tail -n 20 "$profile/chromium.log" >&2
    exit 1
}

if [[ ! -s $abs_out ]]; then
    echo "report-screenshot: $browser wrote no screenshot to $abs_out" >&2
    tail -n 20 "$profile/chromium.log" >&2
    exit 1
fi
echo "$abs_out"
