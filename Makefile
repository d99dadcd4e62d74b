# wsx — see README.md. `make demo` shows it working; `make test` passes the tests.
GO      ?= go
BIN     ?= bin
GOBIN   ?= $(shell $(GO) env GOPATH)/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/wsxdev/wsx/cmd.Version=$(VERSION)
# urfave_cli_no_docs leaves out urfave/cli's Markdown man-page renderer,
# whose initialisation every wsx process would pay; wsx writes its man page
# itself. e2e/e2e_test.go builds with the same tags.
TAGS    := urfave_cli_no_docs
# A locked agent holds no secret in memory without any GOEXPERIMENT
# (internal/erase); `GOEXPERIMENT=runtimesecret make build` adds
# runtime/secret's erasure to the request handlers.

.PHONY: build install test unit e2e deps demo bench lint fuzz clean compare-gitleaks test-kumo

# wsx-provider holds the secret services' clients (Vault, AWS, Azure) and
# sops, out of wsx: wsx runs it from beside itself when a wsx.toml sources
# a secret from one of them. git-credential-wsx is the credential helper
# git starts, a small program that asks the agent and hands everything
# else over to the wsx beside it.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN)/wsx ./cmd/wsx
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(BIN)/wsx-provider ./cmd/wsx-provider
	rm -f $(BIN)/git-credential-wsx
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(BIN)/git-credential-wsx ./cmd/git-credential-wsx

# install puts wsx-provider and git-credential-wsx beside wsx; the latter
# is also what `credential.helper = wsx` finds.
install:
	CGO_ENABLED=0 $(GO) install -trimpath -tags '$(TAGS)' -ldflags '$(LDFLAGS)' ./cmd/wsx
	CGO_ENABLED=0 $(GO) install -trimpath -ldflags '-s -w' ./cmd/wsx-provider
	rm -f $(GOBIN)/git-credential-wsx
	CGO_ENABLED=0 $(GO) install -trimpath -ldflags '-s -w' ./cmd/git-credential-wsx

deps:
	./scripts/deps.sh

# Unit tests, fuzz seeds and the end-to-end scenarios with real git and ssh;
# then `wsx ui` in headless chromium (e2e/browser, a module of its own).
test: deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...
	cd e2e/browser && $(GO) test -count=1 -timeout 10m ./...

unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /e2e)

e2e: deps
	$(GO) test -count=1 -v ./e2e/

# wsx scan against gitleaks (its own module, e2e/gitleaks): same rules, same
# tree, same findings, and wsx at least twice as fast. Builds gitleaks.
compare-gitleaks:
	cd e2e/gitleaks && WSX_GITLEAKS=1 $(GO) test -count=1 -v -timeout 30m ./

# provider/awssm and the e2e Secrets Manager scenario against kumo, an AWS
# emulator; its first build (scripts/deps.sh) takes about 20 minutes.
test-kumo:
	WSX_KUMO=1 ./scripts/deps.sh
	WSX_KUMO=1 $(GO) test -count=1 -run 'TestKumo' ./provider/awssm/
	WSX_KUMO=1 $(GO) test -count=1 -run 'TestCloudProviders/aws_sm_kumo' ./e2e/

demo: build
	./scripts/demo.sh

bench: build
	./scripts/bench.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Run each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep ^Fuzz); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf $(BIN)
