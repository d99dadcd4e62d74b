#!/bin/sh
# Installs what the end-to-end tests drive: git, the OpenSSH client tools
# and sshd, and node, npm and python3 (file secrets read by subprocesses),
# curl (through the exec proxy) and chromium (the browser test of `wsx ui`, e2e/browser).
# As root it installs missing ones with apt-get (nothing when all are
# there); otherwise it lists them. With CI=true a tool still missing is an
# error.
set -eu

# kumo, an AWS emulator that provider/awssm's TestKumo and the e2e kumo
# scenario serve on loopback: only with WSX_KUMO=1 (`make test-kumo`), as
# its first build takes about 20 minutes; then kept beside a version stamp.
KUMO_VERSION=v0.33.1
if [ "${WSX_KUMO:-}" = 1 ]; then
	gobin=$(go env GOBIN)
	[ -n "$gobin" ] || gobin=$(go env GOPATH)/bin
	if [ ! -x "$gobin/kumo" ] || [ "$(cat "$gobin/.kumo-version" 2>/dev/null)" != "$KUMO_VERSION" ]; then
		echo "deps: building kumo $KUMO_VERSION into $gobin (once; it takes many minutes)" >&2
		go install "github.com/sivchari/kumo/cmd/kumo@$KUMO_VERSION"
		echo "$KUMO_VERSION" >"$gobin/.kumo-version"
	fi
fi

missing="" packages=""
for entry in git:git ssh:openssh-client ssh-add:openssh-client ssh-agent:openssh-client \
	ssh-keygen:openssh-client /usr/sbin/sshd:openssh-server node:nodejs npm:npm python3:python3 \
	curl:curl chromium:chromium; do
	tool=${entry%%:*} pkg=${entry#*:}
	if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "$tool" ]; then
		missing="$missing $tool"
		case " $packages " in *" $pkg "*) ;; *) packages="$packages $pkg" ;; esac
	fi
done
# nginx: with WSX_BENCH=1 (`make bench`), the anchor of the proxy's
# download benchmark, a TLS-terminating reverse proxy.
if [ "${WSX_BENCH:-}" = 1 ] && ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
	missing="$missing nginx" packages="$packages nginx"
fi
# pass and gpg: the pass provider's scenarios (e2e/testdata/provider).
for entry in pass:pass gpg:gnupg; do
	tool=${entry%%:*} pkg=${entry#*:}
	if ! command -v "$tool" >/dev/null 2>&1; then
		missing="$missing $tool"
		case " $packages " in *" $pkg "*) ;; *) packages="$packages $pkg" ;; esac
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "deps: installing$packages (missing:$missing)" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	# shellcheck disable=SC2086 # one word per package
	apt-get install -y -qq $packages >/dev/null
	case " $packages " in *" nginx "*)
		# Only the benchmark runs it, in the foreground: not a system
		# service left running and started at each boot.
		if command -v systemctl >/dev/null 2>&1; then
			systemctl disable --now nginx >/dev/null 2>&1 || true
		fi
		;;
	esac
	exit 0
fi

if [ "${CI:-}" = true ]; then
	echo "deps: missing:$missing (install$packages)" >&2
	exit 1
fi
echo "deps: missing:$missing; the end-to-end tests that need them will be skipped" >&2
echo "deps: install them with: sudo apt-get install$packages" >&2
