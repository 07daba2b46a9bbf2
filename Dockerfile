# davfs-bridge server image: builds the TypeScript, keeps production dependencies only.
FROM node:22-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY config ./config
ENV DAVFS_DATA=/data
# In a container the server must listen on all interfaces to be reachable through -p.
ENV DAVFS_LISTEN=0.0.0.0:8080
# The malloc settings serve and mount would otherwise start themselves again with
# (src/cli/malloc-tuning.ts): set here, the server is PID 1 itself and gets docker's signals.
ENV MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=268435456
RUN mkdir -p /data && chown node:node /data
VOLUME /data
EXPOSE 8080
USER node
ENTRYPOINT ["node", "bin/davfs-bridge.js"]
CMD ["serve"]
