# syntax=docker/dockerfile:1
# Build: dependencies first (cached), then the source, then the catalogs (a broken one fails).
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# Runtime dependencies only (not the dev tools), at the versions the tests ran with.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/deps.txt \
 && pip install -c constraints.txt -r /tmp/deps.txt
COPY README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY locales ./locales
RUN pip install --no-deps -c constraints.txt -e . \
 && for po in locales/*/LC_MESSAGES/messages.po; do \
      pybabel compile --domain=messages --input-file="$po" --output-file="${po%.po}.mo" || exit 1; \
    done

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 JAGA_DB=/data/jaga.sqlite3
RUN useradd --system --uid 10001 --home-dir /app jaga && mkdir /data && chown jaga /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=jaga /app /app
WORKDIR /app
USER 10001
VOLUME ["/data"]
# /health of `jaga run` (bot/webhook.py, 127.0.0.1:8080 inside the container): 200 when the
# database reads and grants its write lock. No curl in slim images: python's urllib (a 503 or
# no answer raises, so the exit status is 1). Change the port here if you pass --health-port.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=5)"]
ENTRYPOINT ["jaga"]
CMD ["run"]
