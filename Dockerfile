# tablepay: build on the Rust image, run on a slim Debian with only the binary.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p tablepay-api --bin tablepay

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir /data && chown 10001 /data
COPY --from=build /src/target/release/tablepay /usr/local/bin/tablepay
# MALLOC_ARENA_MAX=2: see README, Performance.
ENV TABLEPAY_BIND=0.0.0.0:8080 \
    DATABASE_URL=sqlite:///data/tablepay.db \
    MALLOC_ARENA_MAX=2
VOLUME /data
EXPOSE 8080
USER 10001
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["tablepay"]
CMD ["serve"]
