# syntax=docker/dockerfile:1
# One image runs every Vigil service; the service is an argument:
#   docker run vigil run --config /etc/vigil/vigil.yaml --service ingest|infer|alerts
# The TypeScript sources run as they are (bin/vigil.js registers tsx): there is no compile
# step, so the image holds the sources and the production dependencies only.
#
# Build arguments:
#   ONNXRUNTIME_EP  cpu (default): onnxruntime-node's bundled CPU build, as .npmrc says.
#                   cuda12: also fetch its CUDA 12 provider (for infer on GPU nodes);
#                   pair it with a CUDA runtime base, e.g.
#                   --build-arg RUNTIME_BASE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04
#   RUNTIME_BASE    the final stage's base image (default debian:bookworm-slim).
#   NODE_IMAGE      where node and npm come from (default node:20-bookworm-slim).
ARG NODE_IMAGE=node:20-bookworm-slim
ARG RUNTIME_BASE=debian:bookworm-slim

FROM ${NODE_IMAGE} AS node

# Only the workspaces' package.json files, so `npm ci` below stays cached until a
# dependency changes rather than whenever a source file does.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY libs libs
COPY services services
RUN find libs services -mindepth 2 -maxdepth 2 ! -name package.json -exec rm -rf {} +

FROM ${NODE_IMAGE} AS deps
ARG ONNXRUNTIME_EP=cpu
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY --from=manifests /src/ ./
RUN --mount=type=cache,target=/root/.npm \
    if [ "$ONNXRUNTIME_EP" = cpu ]; then \
      npm ci --omit=dev --no-audit --no-fund; \
    else \
      npm ci --omit=dev --no-audit --no-fund --onnxruntime-node-install="$ONNXRUNTIME_EP"; \
    fi

# Sources on top of the installed dependencies, then whatever a workspace builds
# (the dashboard's static bundle).
FROM deps AS build
COPY tsconfig.json ./
COPY bin bin
COPY src src
COPY libs libs
COPY services services
COPY deploy/kafka-topics.ts deploy/camera-sim.sh deploy/
RUN npm run build --workspaces --if-present

FROM ${RUNTIME_BASE} AS runtime
ARG DEBIAN_FRONTEND=noninteractive
# ffmpeg: ingest's decoder and the camera simulator; DejaVu: the timestamp band's font.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg fonts-dejavu-core ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 vigil \
 && useradd --system --uid 10001 --gid vigil --home-dir /app --no-create-home --shell /usr/sbin/nologin vigil \
 && install -d -o 10001 -g 10001 /var/lib/vigil /var/lib/vigil/evidence
# /var/lib/vigil: data_dir; alerts keeps evidence in ./evidence (mount a volume there)
COPY --from=node /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=build --chown=root:root /app /app
ENV NODE_ENV=production
USER 10001:10001
# alerts (REST, Socket.IO, dashboard, /metrics, /healthz), ingest and infer /metrics + /healthz
EXPOSE 8080 9101 9102
# --initial-old-space-size: SERVICE_NODE_FLAGS (libs/platform/src/node-flags.ts says why)
ENTRYPOINT ["node", "--initial-old-space-size=128", "bin/vigil.js"]
CMD ["--help"]
