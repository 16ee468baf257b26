# Multi-stage build of the gateway: a full Rust toolchain to build, a small Debian runtime to run.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p ixgw && strip target/release/ixgw

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /var/lib/ixgw --create-home ixgw
COPY --from=build /src/target/release/ixgw /usr/local/bin/ixgw
COPY config/ixgw.example.toml /etc/ixgw/ixgw.example.toml
USER ixgw
WORKDIR /var/lib/ixgw
ENV IXGW_SERVER_LISTEN=0.0.0.0:8080 \
    IXGW_DATABASE_URL=sqlite:///var/lib/ixgw/ixgw.db \
    IXGW_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=2s --retries=3 CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /readyz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q '200' <&3"]
ENTRYPOINT ["ixgw"]
CMD ["serve"]
