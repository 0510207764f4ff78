# rafttoy: `make bench` runs the main job, `make test` every check. Each target installs
# first when node_modules is missing or older than package-lock.json.
SHELL := /bin/bash
STAMP := node_modules/.installed
SOAK_SEEDS ?= 500
SOAK_STEPS ?= 200000

.PHONY: all build test lint typecheck bench soak clean

all: build

# npm ci is tried first. It refuses the lock file when the registry in reach lacks other
# platforms' optional binaries (biome's, lmdb's), which npm then leaves out of the lock;
# npm install still installs exactly the locked versions, so it is the fallback.
$(STAMP): package-lock.json
	npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error
	touch $(STAMP)

build: $(STAMP)
	rm -rf dist
	npx tsc -p tsconfig.json

lint: $(STAMP)
	npx biome check .

test: build lint
	node --test --test-concurrency=2 dist/src

bench: build
	npm run --silent bench:core

soak: build
	node dist/src/raft/sim/soak.js --seeds $(SOAK_SEEDS) --steps $(SOAK_STEPS)

clean:
	rm -rf dist results
