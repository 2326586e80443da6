# syntax=docker/dockerfile:1
# Switchyard: an LLM gateway on Pingora, drop-in for LiteLLM's proxy.
#
# Build:  docker build -t switchyard .
# Run:    docker run --rm -p 4000:4000 -e OPENAI_API_KEY \
#           -v "$PWD/config.yaml:/app/config.yaml:ro" switchyard
#
# The config is LiteLLM's config.yaml format and is expected at /app/config.yaml (mount it
# read-only; `docker kill -s HUP <container>` reloads it). Keys written as os.environ/NAME
# are read from the container's environment, so pass them with -e. The example configs are
# copied to /app/conf; to try one without any provider key:
#   docker run --rm -p 4000:4000 switchyard \
#     --config /app/conf/quickstart.yaml --host 0.0.0.0 --port 4000 --allow-insecure-master-key

# ---- build ------------------------------------------------------------------------------------
FROM rust:1-bookworm AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake pkg-config libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Cache mounts keep the registry and target dir between builds; the binary is copied out
# of the cached target dir in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin switchyard \
 && install -D -m 0755 target/release/switchyard /out/switchyard

# ---- runtime ----------------------------------------------------------------------------------
FROM debian:bookworm-slim
# curl is only for HEALTHCHECK; ca-certificates for HTTPS upstreams; libssl3 for openssl.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system switchyard \
 && useradd --system --gid switchyard --home-dir /app --no-create-home --shell /usr/sbin/nologin switchyard
COPY --from=builder /out/switchyard /usr/local/bin/switchyard
COPY conf/ /app/conf/
# The default store (SQLite, switchyard.db) lives in the working directory: keep it on a volume.
RUN mkdir -p /app/data && chown switchyard:switchyard /app/data
WORKDIR /app/data
VOLUME /app/data
USER switchyard
ENV RUST_LOG=info
EXPOSE 4000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:4000/health/liveliness || exit 1
ENTRYPOINT ["switchyard"]
CMD ["--config", "/app/config.yaml", "--host", "0.0.0.0", "--port", "4000"]
