# The workspace's server binaries as images (compose.yml; build context: the repository
# root): PACKAGE=alertingscout (the API, the default) or PACKAGE=oncall (the alert relay).
ARG PACKAGE=alertingscout

FROM rust:1.95-bookworm AS build
ARG PACKAGE
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p ${PACKAGE}

FROM debian:bookworm-slim
ARG PACKAGE
RUN useradd --system --home /data app && mkdir -p /data && chown app /data
COPY --from=build /src/target/release/${PACKAGE} /usr/local/bin/app
USER app
ENTRYPOINT ["/usr/local/bin/app"]
