# cutover: the two commands are `make demo` and `make test` (see README.md).
GO       ?= go
OUT      ?= out
GOFLAGS  ?=
export GOFLAGS
# The version a binary reports (`cutover version`, every report): the source
# revision it was built from, for the provenance of a run's evidence.
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
# And the exact revision (`--version`: "revision 79d00ca1b2c3"), even where the
# environment's GOFLAGS turn VCS stamping off.
VCS      := -buildvcs=auto

.PHONY: all demo test bench bench-peers build check-go chromium hydra fmt-check vet clean

all: build

build: check-go
	$(GO) build $(VCS) -ldflags "$(LDFLAGS)" -o bin/cutover ./cmd/cutover

# The embedded default: both reference stacks in-process on loopback, a short
# peak-like run, a report. Findings exit 1 (parity) or 5 (performance): that is the
# demo working, so make does not fail on them.
demo: check-go
	@$(GO) run $(VCS) -ldflags "$(LDFLAGS)" ./cmd/cutover demo --out $(OUT)/demo; rc=$$?; \
	  if [ $$rc -eq 0 ] || [ $$rc -eq 1 ] || [ $$rc -eq 5 ]; then exit 0; else exit $$rc; fi

# One test binary at a time (-p 1): the end-to-end tests run load against the
# embedded stacks and judge latency, and two of them sharing 2 cores measure each
# other (the generator saturates, every step slows).
test: check-go chromium hydra fmt-check vet
	$(GO) test -race -count=1 -p 1 -timeout 60m ./...

# The figures of the README's Benchmarks table, each measured side by side in one
# run, then one line per figure with its ratio (internal/benchratios). About two
# minutes on 2 cores; the raw output stays in $(OUT)/bench.txt.
BENCH = $(GO) test -run '^$$' -count 1
bench: check-go chromium
	@mkdir -p $(OUT); \
	 { $(BENCH) -bench '^BenchmarkSchedulerAndJourneysVsVegeta$$' -benchtime 5x ./loadgen; \
	   $(BENCH) -bench '^BenchmarkTransportCPU$$' -benchtime 5x ./loadgen; \
	   $(BENCH) -bench '^BenchmarkLatencyAccuracy$$' -benchtime 3x ./loadgen; \
	   $(BENCH) -bench '^BenchmarkPipelineMemoryLongVsShort$$' -benchtime 1x ./run/rehearsal; \
	   $(BENCH) -bench '^BenchmarkJourneys$$' -benchtime 1x ./journeys/browser; \
	   $(BENCH) -bench '^BenchmarkBrowserCPU$$' -benchtime 3x ./journeys/browser; \
	   $(BENCH) -bench '^BenchmarkReport1M$$' -benchtime 5x ./results/analysis; \
	   $(BENCH) -bench '^BenchmarkReportFromJSONL1M$$' -benchtime 1x ./results/analysis; \
	   $(BENCH) -bench '^BenchmarkGrouping100kPersonas$$' -benchtime 5x ./results/analysis; \
	   $(BENCH) -bench '^BenchmarkShadowStream1M$$' -benchtime 1x ./run/shadow; \
	 } 2>&1 | tee $(OUT)/bench.txt; \
	 echo; $(GO) run ./internal/benchratios $(OUT)/bench.txt

# cutover beside Locust, Artillery and vegeta, the same candidate journey against
# one `cutover stacks` (README "Beside Locust, Artillery and vegeta"). install.sh
# installs python3-locust and tcpdump (apt-get, as root) and artillery 2.x (npm,
# into $(OUT)/peers/node_modules), or stops saying how; run.sh takes about 15
# minutes and writes $(OUT)/peers/results.md and results.json.
bench-peers: check-go
	@bench/peers/install.sh $(OUT)/peers
	@bench/peers/run.sh $(OUT)/peers

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

check-go:
	@command -v $(GO) >/dev/null || { echo "Go 1.26 is required: https://go.dev/doc/install"; exit 2; }

# Browser journeys and the HTML report test need Debian's Chromium, and browser
# journeys run lighter on its headless shell (chromium-headless-shell: same engine,
# no browser UI). Installed when we are root with apt-get; otherwise the command to
# run is printed.
chromium:
	@need=""; \
	 command -v chromium >/dev/null 2>&1 || need="chromium"; \
	 command -v chromium-headless-shell >/dev/null 2>&1 || need="$$need chromium-headless-shell"; \
	 if [ -z "$$need" ]; then exit 0; fi; \
	 if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	   echo "installing $$need (apt-get install -y $$need)"; \
	   apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need >/dev/null; \
	 elif command -v chromium >/dev/null 2>&1; then \
	   echo "note: browser journeys run on chromium, slower: 'sudo apt-get install -y chromium-headless-shell'"; \
	 else echo "Chromium is missing: run 'sudo apt-get install -y chromium chromium-headless-shell'"; exit 2; fi

# The integration suite runs Ory Hydra as an independent candidate. build.sh builds it
# once (a few minutes on 2 cores) into ~/.cache/cutover/hydra and reuses it after.
hydra:
	@integration/hydra/build.sh >/dev/null

clean:
	rm -rf bin $(OUT)
