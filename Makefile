# scelle — the targets a newcomer and CI use. `make test` is what CI runs.
GO       ?= go
DATA     ?= ./data
ADDR     ?= 127.0.0.1:8080
# Crash test rounds; `make test CRASH_ROUNDS=100` runs more.
CRASH_ROUNDS ?= 10

.PHONY: all build test check vet race bench run fuzz clean

all: build

build:
	$(GO) build -o bin/scelle ./cmd/scelle

test:
	SCELLE_CRASH_ROUNDS=$(CRASH_ROUNDS) $(GO) test -count=1 -timeout 20m ./...

vet:
	$(GO) vet ./...

race:
	$(GO) test -race -count=1 -short -timeout 30m ./...

check: vet race test

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3s -timeout 30m ./eventstore/... ./ledger/...

run: build
	./bin/scelle serve --addr $(ADDR) --data $(DATA)

clean:
	rm -rf bin
