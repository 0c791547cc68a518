# mpcsigner: threshold signing that looks like an HSM. `make help` lists the targets.
GO        ?= go
BIN       := bin/mpcsigner
DATA      ?= ./data
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
GOFLAGS_BUILD := -trimpath -ldflags "-s -w -buildid= -X main.version=$(VERSION)"

.DEFAULT_GOAL := help
.PHONY: help build pkcs11 run test test-short interop vet fuzz bench clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/mpcsigner
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN) ./cmd/mpcsigner

pkcs11: ## build bin/libmpcsigner-pkcs11.so, the PKCS#11 module (needs gcc)
	CGO_ENABLED=1 $(GO) build -trimpath -buildmode=c-shared -ldflags=-extldflags=-Wl,--version-script=$(CURDIR)/pkcs11/cmd/libmpcsigner-pkcs11/exports.map -o bin/libmpcsigner-pkcs11.so ./pkcs11/cmd/libmpcsigner-pkcs11

run: build ## start a local 2-of-3 cluster (data under ./data); Ctrl-C stops it
	$(BIN) devnet --data $(DATA)

test: vet ## run every test, including the end-to-end cluster test
	$(GO) test -race -timeout 30m ./...

interop: build ## run the interop modules' tests: real third-party clients (Prysm, go-ethereum and its EVM, each chain's own library) against a devnet
	cd interop/harness && MPCSIGNER_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 20m ./...
	cd interop && MPCSIGNER_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 20m ./...
	cd interop/ethereum && MPCSIGNER_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 20m ./...
	cd interop/chains && MPCSIGNER_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 20m ./...

test-short: ## run the fast tests only (no cluster start-up)
	$(GO) test -short ./...

vet: ## gofmt and go vet
	@unformatted=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	if [ -n "$$unformatted" ]; then echo "not gofmt-formatted: $$unformatted"; exit 1; fi
	$(GO) vet ./...

fuzz: ## run each fuzz target for 20s
	@for pkg in $$(grep -rl "^func Fuzz" --include=*_test.go --exclude-dir=interop . | xargs -n1 dirname | sort -u); do \
	  for t in $$($(GO) test -list 'Fuzz.*' $$pkg | grep ^Fuzz); do \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime 20s $$pkg || exit 1; done; done

bench: build ## keygen and sign benchmarks on a devnet (results go in docs/performance.md by hand)
	$(GO) test -run '^$$' -bench . -benchtime 20x ./cmd/mpcsigner

clean: ## remove build output (not ./data)
	rm -rf bin
