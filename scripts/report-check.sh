#!/usr/bin/env bash
# Opens an HTML report in headless Chromium and checks what the browser parsed: that the
# page has a chart (an <svg class="chart">) for every backend of the result files it was
# made from, and no parse of a chart went missing. Complements the Rust tests, which
# check the HTML text: this checks the page a browser builds from it.
#
# Usage: scripts/report-check.sh REPORT_HTML RESULT_JSON...
#   REPORT_HTML   the report, as `reclaim-bench run` or `report` wrote it
#   RESULT_JSON   the result files it was made from
#   -h, --help    this text
# Environment: CHROMIUM, the browser binary, if it is not on PATH as `chromium`.
# Needs Chromium and python3.
# Example: scripts/report-check.sh results/<stem>.html results/<stem>.json
#          (a run's report is named after its result file; results/latest.html is the newest)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib/common.sh
source "$here/lib/common.sh"
usage_if_asked "$@"

if [[ $# -lt 2 ]]; then
    usage_error "a report and at least one result file"
fi
need_python3 "reading the page Chromium built"
report=$1
shift
browser=${CHROMIUM:-chromium}
if ! command -v "$browser" >/dev/null 2>&1; then
    echo "report-check: no $browser (install it with: sudo apt-get install chromium)" >&2
    exit 1
fi
[[ -f $report ]] || { echo "report-check: no such report: $report" >&2; exit 1; }

abs_report=$(cd "$(dirname "$report")" && pwd)/$(basename "$report")
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# The same quiet flags as report-screenshot.sh: the page is a local file.
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --dump-dom "file://$abs_report" \
    >"$profile/dom.html" 2>"$profile/chromium.log" || {
    echo "report-check: $browser failed:" >&2
    tail -n 20 "$profile/chromium.log" >&2
    exit 1
}

python3 - "$profile/dom.html" "$@" <<'EOF'
import html.parser, json, sys

dom_path, results = sys.argv[1], sys.argv[2:]

class Charts(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.by_backend = {}
        self.svgs = 0
    def handle_starttag(self, tag, attrs):
        if tag != "svg":
            return
        self.svgs += 1
        attrs = dict(attrs)
        if "chart" in (attrs.get("class") or "").split() and "data-backend" in attrs:
            name = attrs["data-backend"]
            self.by_backend[name] = self.by_backend.get(name, 0) + 1

parser = Charts()
with open(dom_path, encoding="utf-8") as f:
    parser.feed(f.read())

expected = set()
for path in results:
    with open(path, encoding="utf-8") as f:
        expected.update(row["backend"] for row in json.load(f)["rows"])

missing = sorted(expected - parser.by_backend.keys())
if missing:
    print(f"report-check: no chart in the parsed page for: {', '.join(missing)}", file=sys.stderr)
    sys.exit(1)
print(f"report-check: {len(expected)} backends, each with a chart; "
      f"{parser.svgs} SVG elements in the page Chromium built")
EOF
