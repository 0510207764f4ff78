# rafttoy: `make bench` runs the main job, `make test` every check. Each target installs
# first when node_modules is missing or older than package-lock.json.
SHELL := /bin/bash
STAMP := node_modules/.installed
BENCH_ARGS ?=
SOAK_SEEDS ?= 500
SOAK_STEPS ?= 200000
# The whole-node part of `make soak`: seeds per pipeline and events per seed.
PEER_SOAK_SEEDS ?= 10
PEER_SOAK_STEPS ?= 100000

.PHONY: all build test lint typecheck bench soak leader-starts imports clean deps-browser deps-redis kv bench-kv kv-leader-kills

all: build

# npm ci installs exactly what package-lock.json names and never rewrites it, so a fresh
# clone stays clean. The lock lists every platform's optional binaries (biome's, lmdb's).
$(STAMP): package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

# After compiling, the package's own bins are linked into node_modules/.bin.
build: $(STAMP)
	rm -rf dist
	npx tsc -p tsconfig.json
	node scripts/link-bins.mjs

lint: $(STAMP)
	npx biome check .

test: build lint deps-browser deps-redis
	node --test --test-concurrency=2 dist/src

# The import check alone (also part of `make test`): the layer order of
# src/testing/layers.ts, no upward or sideways import, no cycle.
imports: build
	node dist/src/testing/import-scan.js

# The report's browser test drives Debian's Chromium. Installed when missing (apt-get
# update once, then install; CI and developers run as root). Without apt this fails, and
# so does `make test`: the browser test is never skipped silently.
CHROMIUM := /usr/bin/chromium
deps-browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  command -v apt-get >/dev/null || { echo "deps-browser: $(CHROMIUM) is missing and apt-get is unavailable: install Chromium by hand" >&2; exit 1; }; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
	fi
	@$(CHROMIUM) --version

# redis-cli, redis-benchmark and redis-server (Debian's redis-tools and redis-server) for the
# key-value service's tests and benchmark; installed like Chromium above when missing.
deps-redis:
	@if ! command -v redis-benchmark >/dev/null || ! command -v redis-server >/dev/null; then \
	  command -v apt-get >/dev/null || { echo "deps-redis: redis-tools/redis-server are missing and apt-get is unavailable: install them by hand" >&2; exit 1; }; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-tools redis-server; \
	fi
	@redis-cli --version

# A local 3-node key-value cluster (rafttoy-kv) in the foreground on free ports; Ctrl-C stops
# it. Flags for every node: make kv KV_ARGS="--reads stale".
KV_ARGS ?=
kv:
	@$(MAKE) --no-print-directory -s build >&2
	@node dist/src/cmd/kv-cluster.js $(KV_ARGS)

# redis-benchmark and autocannon against a local 3-node cluster, beside a plain redis-server;
# one table on stdout, JSON under results/. E.g. make bench-kv BENCH_KV_ARGS="--runs 3".
BENCH_KV_ARGS ?=
bench-kv: deps-redis
	@$(MAKE) --no-print-directory -s build >&2
	@node dist/src/cmd/kv-bench.js $(BENCH_KV_ARGS)

# A local 3-process cluster on loopback running the default matrix on the default
# (durable, embedded) storage; e.g. make bench BENCH_ARGS="--wal mem --engine mem --count 3".
# stdout carries result lines only: the build's own output goes to stderr, and nothing is echoed.
bench:
	@$(MAKE) --no-print-directory -s build >&2
	@node dist/src/cmd/local-cluster.js $(BENCH_ARGS)

# 200 back-to-back leader processes against the same followers, every 5th with a follower
# SIGKILLed and restarted mid-run: how many failed to lead (goal 0). ~10 minutes.
LEADER_STARTS_ARGS ?=
leader-starts: build
	node dist/src/e2e/leader-starts.js $(LEADER_STARTS_ARGS)

# A 3-node rafttoy-kv cluster whose leader is SIGKILLed again and again: per kill, the ms
# until a write through a survivor succeeds again (the killed node is restarted between).
KV_KILLS_ARGS ?= --kills 10
kv-leader-kills: build
	node dist/src/e2e/kv-leader-kills.js $(KV_KILLS_ARGS)

# rafttoy-kv under SIGKILL/restart, SIGSTOP/SIGCONT, leader kills, partitions and member
# changes for 2 minutes, the clients' history checked for linearizability (make test runs two
# 20 s versions). E.g. make jepsen JEPSEN_ARGS="--nodes 5 --seed 7 -- --pipeline async-apply".
JEPSEN_ARGS ?=
jepsen: build
	mkdir -p results
	node dist/src/jepsen/main.js --duration 120 --history results/jepsen-history.jsonl --json results/jepsen.json $(JEPSEN_ARGS)

# The core's simulator over many seeds, then the whole-node simulator over every pipeline
# (real Peers on virtual time, crashes inside persists, failing syncs), from a first seed
# taken from the clock so that every soak explores new seeds.
soak: build
	node dist/src/cmd/soak.js --seeds $(SOAK_SEEDS) --steps $(SOAK_STEPS)
	node dist/src/cmd/rafttoy-sim.js --peer --pipeline all --seeds $(PEER_SOAK_SEEDS) --steps $(PEER_SOAK_STEPS) --seed $$(( $$(date +%s) % 1000000000 ))

clean:
	rm -rf dist results
