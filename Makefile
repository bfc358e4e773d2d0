# lbx — the two commands a fresh machine needs: `make demo` and `make test`.
GO      ?= go
BIN     := bin/lbx
# Packages whose tests exercise goroutines and shared state run under -race.
RACE_PKGS := ./dataplane/... ./ctrlplane/... ./pools/... ./monitors/... ./cli/... ./internal/...

.PHONY: all build image vm demo demo-arr demo-ha test test-afxdp bench bench-quick unit vet lint fmt-check clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/lbx

# The appliance VM disk (README: Boot it as a VM): a static lbx as /init,
# Debian's kernel, UEFI boot from the disk alone.
image: build
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags=-buildid= -o bin/lbx-static ./cmd/lbx
	./$(BIN) vm image --binary bin/lbx-static --out bin/lbx-appliance.qcow2

# Boot it under qemu, the serial console on this terminal.
vm: image
	./$(BIN) vm run

# Testbed up, default config, 30 requests through the VIP, a failure shown
# and survived, testbed down. Needs root (network namespaces).
demo: build
	./$(BIN) demo

# The seed paper's ARR deployment (testbed topology arr): routing by URL,
# host and user agent; active/passive failover with a crash and an
# affinity cookie; active/active with a slowed ARR node. Needs root.
demo-arr: build
	./$(BIN) demo arr

demo-ha: build
	./$(BIN) demo ha

# lbx over TAP and over AF_XDP beside nftables DNAT, HAProxy (tcp, http)
# and plain kernel routing on the testbed: keep-alive, new connections,
# UDP pps, bulk TCP, interleaved rounds, then the scale push and monitor
# CPU; writes docs/BENCHMARKS.md. Needs root. Not part of `make test`:
# benchmarks measure, tests assert behaviour. bench-quick: the same in
# under 3 minutes (2 rounds of 2 s).
BENCHFLAGS ?=
bench: build
	$(GO) run ./bench -lbx $(BIN) $(BENCHFLAGS)

bench-quick: build
	$(GO) run ./bench -lbx $(BIN) -quick $(BENCHFLAGS)

# Unit tests, fuzz seeds, and the namespace integration tests (root), the
# latter on TAP ports; then the AF_XDP subset (README: Ports) again with the
# appliance on AF_XDP ports (veth pairs).
AFXDP_TESTS := ^TestIntegration(RoundRobinHTTP|KeepAliveStaysOnOneServer|PingVIPAndSelf|UDPEcho|UDPFragments|PMTUThroughVIP|SNATAutomapAndNone|MonitorKillAndRestart|CrashAfterSaveRestoresSavedConfig)$$
test: build image fmt-check vet lint
	$(GO) test $(TESTFLAGS) -count=1 -timeout 30m ./...
	$(GO) test $(TESTFLAGS) -count=1 -timeout 20m -race $(RACE_PKGS)
	LBX_TESTBED_PORT_DRIVER=afxdp $(GO) test $(TESTFLAGS) -count=1 -timeout 10m -run '$(AFXDP_TESTS)' ./testbed

# The AF_XDP subset alone.
test-afxdp: build
	LBX_TESTBED_PORT_DRIVER=afxdp $(GO) test $(TESTFLAGS) -count=1 -timeout 10m -run '$(AFXDP_TESTS)' ./testbed

vet:
	$(GO) vet ./...

# staticcheck, pinned, from the module proxy: catches dead code and misuse
# that vet does not.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	$(GO) run $(STATICCHECK) ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

clean:
	rm -rf bin
