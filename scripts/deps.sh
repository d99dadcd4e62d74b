#!/bin/sh
# Installs what the end-to-end tests drive: git, the OpenSSH client tools
# and sshd. As root it installs missing ones with apt-get; otherwise it
# lists them. With CI=true a tool still missing is an error.
set -eu

missing=""
for tool in git ssh ssh-add ssh-agent ssh-keygen /usr/sbin/sshd; do
	if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "$tool" ]; then
		missing="$missing $tool"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "deps: installing git, openssh-client, openssh-server (missing:$missing)" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq git openssh-client openssh-server >/dev/null
	exit 0
fi

if [ "${CI:-}" = true ]; then
	echo "deps: missing:$missing (install git openssh-client openssh-server)" >&2
	exit 1
fi
echo "deps: missing:$missing; the end-to-end tests that need them will be skipped" >&2
echo "deps: install them with: sudo apt-get install git openssh-client openssh-server" >&2
