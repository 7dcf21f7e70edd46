#!/bin/bash
# `make image-test`: the app image, started for real. Checks what a deployment relies on:
# runs as uid 10001 with a read-only root; no pip, setuptools or writable code; a root-owned
# /data is refused in one line; it migrates, polls (a stand-in Bot API in the same network
# namespace: no traffic leaves loopback), the HEALTHCHECK follows JAGA_HEALTH_PORT and turns
# healthy, and `docker stop` ends it cleanly (exit 0, not killed).
#
#   deploy/image-test.sh [IMAGE]      IMAGE defaults to jaga-pekerja:latest
set -euo pipefail

image=${1:-jaga-pekerja:latest}
docker=${DOCKER:-docker}
here=$(cd "$(dirname "$0")" && pwd)
name=jaga-image-test-$$
data=$(mktemp -d /var/tmp/jaga-image-test.XXXXXX)
health_port=8099 # not the default: the HEALTHCHECK must follow the setting
started=$SECONDS

cleanup() {
    "$docker" rm -f "$name-bot" "$name-api" >/dev/null 2>&1 || true
    rm -rf "$data"
}
trap cleanup EXIT

fail() {
    echo "image-test: FAILED: $*" >&2
    for c in "$name-bot" "$name-api"; do
        if "$docker" container inspect "$c" >/dev/null 2>&1; then
            echo "--- docker logs $c" >&2
            "$docker" logs "$c" 2>&1 | tail -40 >&2
        fi
    done
    exit 1
}
ok() { echo "image-test: ok: $*"; }

# In the image: who runs, what is writable, what is installed, catalogs, the chart's cache.
"$docker" run --rm --read-only --tmpfs /tmp --network none --entrypoint python "$image" -W error -c '
import importlib.util, io, os, sys
import bot
from bot.i18n import catalog_compiled
from matplotlib.figure import Figure
assert os.getuid() == 10001 and os.getgid() == 10001, (os.getuid(), os.getgid())
assert not os.access(bot.__file__, os.W_OK), "the app code is writable"
assert not os.access(sys.prefix, os.W_OK), "the venv is writable"
assert "site-packages" in bot.__file__, "not a normal install: " + bot.__file__
for module in ("pip", "setuptools"):
    assert importlib.util.find_spec(module) is None, module + " is in the image"
assert catalog_compiled("en"), "the English catalog is not compiled"
figure = Figure()
figure.add_subplot().set_title("Laporan")
figure.savefig(io.BytesIO(), format="png")  # -W error: no "cache not writable" warning
' || fail "the image's contents"
ok "uid 10001, read-only root, code not writable, no pip/setuptools, catalogs, chart"

# A root-owned bind mount on /data: one line naming the folder and the chown, exit non-zero.
chmod 755 "$data"
set +e
out=$("$docker" run --rm --read-only --tmpfs /tmp --network none -v "$data:/data" \
    -e JAGA_TELEGRAM_TOKEN=123456:TEST "$image" run 2>&1)
status=$?
set -e
[ "$status" -ne 0 ] || fail "a root-owned /data was accepted"
[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "not one line for a root-owned /data: $out"
case $out in
*"/data"*"chown -R 10001:10001"*) ;;
*) fail "the line does not name /data and the chown: $out" ;;
esac
ok "root-owned /data refused in one line (exit $status): $out"

# The fix that line gives; then the migrations.
chown 10001:10001 "$data"
chmod 700 "$data"
out=$("$docker" run --rm --read-only --tmpfs /tmp --network none -v "$data:/data" "$image" migrate) ||
    fail "jaga migrate: $out"
case $out in
"/data/jaga.sqlite3: schema at "*) ;;
*) fail "jaga migrate said: $out" ;;
esac
ok "migrate: $out"

# The stand-in Bot API first (it owns the network namespace: loopback only), then the bot.
"$docker" run -d --name "$name-api" --network none --read-only \
    -v "$here/fake-bot-api.py:/fake-bot-api.py:ro" --entrypoint python "$image" \
    /fake-bot-api.py 8081 >/dev/null
"$docker" run -d --name "$name-bot" --network "container:$name-api" --read-only --tmpfs /tmp \
    -v "$data:/data" --health-interval 2s --health-start-period 60s \
    -e JAGA_TELEGRAM_TOKEN=123456:TEST \
    -e JAGA_TELEGRAM_API_URL=http://127.0.0.1:8081/bot \
    -e JAGA_TELEGRAM_FILE_URL=http://127.0.0.1:8081/file/bot \
    -e JAGA_HEALTH_PORT=$health_port \
    "$image" >/dev/null

health=starting
for _ in $(seq 60); do
    health=$("$docker" inspect -f '{{.State.Health.Status}}' "$name-bot" 2>/dev/null || echo gone)
    running=$("$docker" inspect -f '{{.State.Running}}' "$name-bot" 2>/dev/null || echo false)
    [ "$health" = healthy ] && break
    [ "$running" = true ] || fail "the bot stopped before it was healthy"
    sleep 1
done
[ "$health" = healthy ] || fail "not healthy after 60 s (status $health)"
out=$("$docker" exec "$name-bot" jaga health) || fail "jaga health: $out"
case $out in
"http://127.0.0.1:$health_port/health: 200 "*'"status": "ok"'*) ;;
*) fail "jaga health said: $out" ;;
esac
ok "healthy (HEALTHCHECK on JAGA_HEALTH_PORT=$health_port): $out"
"$docker" logs "$name-api" 2>&1 | grep -q "fake-bot-api: getUpdates" || fail "the bot does not poll"
ok "polling the stand-in Bot API"

# docker stop: SIGTERM, a clean stop well within the grace period, exit status 0.
before=$SECONDS
"$docker" stop -t 30 "$name-bot" >/dev/null
took=$((SECONDS - before))
code=$("$docker" inspect -f '{{.State.ExitCode}}' "$name-bot")
[ "$code" -eq 0 ] || fail "exit status $code after docker stop"
[ "$took" -lt 30 ] || fail "docker stop took $took s (killed at the end of the grace period)"
if "$docker" logs "$name-bot" 2>&1 | grep -q "Traceback"; then
    fail "a traceback in the bot's log"
fi
ok "docker stop: exit 0 in ${took} s, no traceback"

echo "image-test: passed in $((SECONDS - started)) s ($image, $("$docker" image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
