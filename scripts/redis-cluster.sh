#!/usr/bin/env bash
# Starts (or stops) a 3-master Redis Cluster on 127.0.0.1:7101-7103 for the tests.
#   scripts/redis-cluster.sh start   # idempotent: does nothing when the cluster is up
#   scripts/redis-cluster.sh stop
set -euo pipefail
PORTS=(7101 7102 7103)
DIR=${RAKIT_CLUSTER_DIR:-/tmp/rakit-redis-cluster}

up() { [ "$(redis-cli -p "${PORTS[0]}" cluster info 2>/dev/null | tr -d '\r' | grep cluster_state)" = "cluster_state:ok" ]; }

case "${1:-start}" in
  start)
    if up; then exit 0; fi
    for p in "${PORTS[@]}"; do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true; done
    rm -rf "$DIR" && mkdir -p "$DIR"
    for p in "${PORTS[@]}"; do
      redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "nodes-$p.conf" \
        --dir "$DIR" --daemonize yes --save "" --appendonly no --logfile "$DIR/$p.log"
    done
    for p in "${PORTS[@]}"; do
      for _ in $(seq 1 50); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done
    done
    redis-cli --cluster create $(printf '127.0.0.1:%s ' "${PORTS[@]}") --cluster-replicas 0 --cluster-yes >"$DIR/create.log"
    for _ in $(seq 1 100); do up && exit 0; sleep 0.1; done
    echo "redis cluster did not become ok; see $DIR" >&2
    exit 1
    ;;
  stop)
    for p in "${PORTS[@]}"; do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true; done
    ;;
esac
