# The app image. No registry needed: the base is Debian 12 with its Python 3.11, made from
# Debian's packages by deploy/base-image.sh; `make image` builds both (`make image-test` checks).
ARG BASE_IMAGE=jaga-base:bookworm

# Build stage: a venv holding the app (a normal, not editable, install), its dependencies at the
# versions the tests ran with, and the compiled catalogs; then pip and setuptools leave it.
FROM ${BASE_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# PIP_CERT: the system authorities (with any the base image added; deploy/base-image.sh).
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_CERT=/etc/ssl/certs/ca-certificates.crt
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends python3-venv=3.11.* \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Runtime dependencies only (not the dev tools): a layer that changes only with them.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/deps.txt \
 && pip install -q -c constraints.txt -r /tmp/deps.txt
COPY README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY jaga ./jaga
COPY storage ./storage
COPY locales ./locales
# bot/i18n.py and bot/knowledge.py read locales/ beside the bot package: in site-packages here.
# A broken catalog fails the build.
RUN pip install -q --no-deps -c constraints.txt . \
 && site="$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
 && for po in locales/*/LC_MESSAGES/messages.po; do \
      pybabel -q compile --domain=messages --input-file="$po" --output-file="${po%.po}.mo" || exit 1; \
    done \
 && mkdir "$site/locales" \
 && for dir in locales/*/; do \
      lang="$(basename "$dir")"; \
      install -D -m 0644 "$dir/knowledge.toml" "$site/locales/$lang/knowledge.toml"; \
      install -D -m 0644 "$dir/LC_MESSAGES/messages.mo" "$site/locales/$lang/LC_MESSAGES/messages.mo"; \
    done \
 && pip uninstall -q -y pip setuptools \
 && rm -f /opt/venv/bin/activate* /opt/venv/bin/Activate.ps1

# Runtime: the base image, the venv (owned by root: read-only to the bot) and /data, the one
# folder the bot writes. Works with `docker run --read-only --tmpfs /tmp`.
FROM ${BASE_IMAGE}
# MPLCONFIGDIR: matplotlib (the /laporan chart) needs a writable cache folder; /tmp is one even
# with a read-only root (mount a tmpfs there). /health: set its port with JAGA_HEALTH_PORT, not
# `--health-port`, so that `jaga health` (the HEALTHCHECK) asks the same port.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    JAGA_DB=/data/jaga.sqlite3 \
    JAGA_HEALTH_LISTEN=127.0.0.1 \
    JAGA_HEALTH_PORT=8080
# uid and gid 10001: chown a bind-mounted data folder to 10001:10001.
RUN groupadd --system --gid 10001 jaga \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin jaga \
 && mkdir -m 0700 /data \
 && chown 10001:10001 /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /data
USER 10001:10001
VOLUME ["/data"]
# The webhook server of `jaga run --webhook URL` (its --port; /health stays inside, 127.0.0.1).
EXPOSE 8443
# 200 from /health when the database reads and grants its write lock (bot/webhook.py).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["jaga", "health"]
ENTRYPOINT ["jaga"]
CMD ["run"]
