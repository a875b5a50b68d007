# The aks-sim simulation service (`aks-sim serve`), for docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml ./
COPY README.md ./
COPY LICENSE ./
COPY sim ./sim
COPY services ./services
COPY scenarios ./scenarios
COPY studies ./studies
# a plain install, as a user's: the example scenarios and studies ship inside the package
RUN pip install . \
    && useradd --system --uid 10001 --user-group --home-dir /app --no-create-home akssim \
    && mkdir -p /data/runs && chown -R akssim:akssim /data

USER akssim
ENV AKSSIM_RUNS_DIR=/data/runs
VOLUME ["/data"]
EXPOSE 8080

HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"]

# Listens on every address of the container; docker-compose.yml publishes it on 127.0.0.1 only.
CMD ["aks-sim", "serve", "--host", "0.0.0.0", "--port", "8080"]
