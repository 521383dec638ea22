# Beacon: multi-stage build. The builder compiles a release binary; the runtime image is
# slim Debian with no shell tools Beacon needs (the health check is `beacon healthcheck`).

FROM rust:1.95-slim-bookworm AS builder
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs probes.toml ./
COPY src ./src
RUN cargo build --release --locked && strip target/release/beacon

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin beacon \
    && mkdir -p /data /etc/beacon \
    && chown beacon:beacon /data
COPY --from=builder /src/target/release/beacon /usr/local/bin/beacon
COPY probes.toml /etc/beacon/probes.toml
ENV BEACON_CONFIG=/etc/beacon/probes.toml \
    BEACON_DB=/data/beacon.db \
    BEACON_LISTEN=0.0.0.0:8080
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 CMD ["beacon", "healthcheck"]
ENTRYPOINT ["beacon"]
CMD ["serve"]
