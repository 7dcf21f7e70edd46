"""`make bench` entry point; the harness arrives with the throughput work (issue 7)."""

import sys

print("bench: no benchmark harness yet", file=sys.stderr)
raise SystemExit(0)
