#!/bin/sh
# openssh-regress.sh SNAPSHOT_GITDIR [TEST...]
#
# Runs OpenSSH's own agent regress scripts (tag V_9_2_P1, the OpenSSH this
# machine has) against `wsx agent`: SSHAGENT is a two-line wrapper that
# execs wsx agent with a throwaway store. The regress files are extracted
# from a git snapshot of openssh-portable to a temporary directory with
# git archive; nothing of OpenSSH is kept in this repository.
#
# Three things differ from a plain run:
# - every `ssh-agent -s` of the scripts must start an agent of its own
#   (WSX_AGENT_REUSE=0; by default a second `wsx agent -s` prints the
#   running agent's variables, as README says);
# - wsx's agent refuses DSA keys (SSH_AGENT_FAILURE, as ssh-agent answers
#   any add it refuses; OpenSSH 10 dropped DSA), so an `ssh` first on PATH
#   leaves ssh-dss and ssh-dss-cert-v01@openssh.com out of what `ssh -Q`
#   lists: the scripts loop over those lists, hostkey-agent.sh over a bare
#   `ssh -Q key-sig` too (KEEP_DSA=1 keeps them);
# - hostkey-agent.sh at V_9_2_P1 tries the sk-*-cert host key types even
#   when no security key provider is built (sk-dummy.so; there is none
#   here), so OpenSSH's own ssh-agent fails it the same way (BASELINE=1).
#   OpenSSH fixed the test in V_10_0_P1 (commit 50c640d8, bz#3402, one
#   `| maybe_filter_sk`); the extracted copy gets that same one-line fix.
#
# Environment: WSX (default bin/wsx), TAG (default V_9_2_P1), KEEP=1 keeps
# the temporary directory, BASELINE=1 runs OpenSSH's own ssh-agent instead
# (to tell the harness's failures from wsx's).
set -u
GITDIR=${1:?usage: openssh-regress.sh SNAPSHOT_GITDIR [TEST...]}
shift
TAG=${TAG:-V_9_2_P1}
TESTS=${*:-agent agent-timeout agent-subprocess agent-restrict hostkey-agent}
WSX=$(cd "$(dirname "${WSX:-bin/wsx}")" && pwd)/$(basename "${WSX:-bin/wsx}")
[ -x "$WSX" ] || { echo "no wsx binary at $WSX (make build)" >&2; exit 2; }

TMP=$(mktemp -d /tmp/wsxregress.XXXXXX)
[ "${KEEP:-}" = 1 ] || trap 'rm -rf "$TMP"' EXIT
git --git-dir="$GITDIR" archive "$TAG" regress | tar -x -C "$TMP" || exit 2
OBJ=$TMP/obj
mkdir -p "$OBJ"

# A store for the agent, unlocked by a passphrase file. Its run directory
# is private to this run.
export WSX_HOME="$TMP/wsxhome"
printf 'regress\n' > "$TMP/pass"
chmod 600 "$TMP/pass"
export WSX_PASSPHRASE_FILE="$TMP/pass"
"$WSX" init --kdf-memory 8 --kdf-time 1 >/dev/null 2>&1 || { echo "wsx init failed" >&2; exit 2; }

# The wrapper OpenSSH's scripts run as ssh-agent.
cat > "$TMP/wsx-ssh-agent" <<WRAP
#!/bin/sh
exec "$WSX" agent "\$@"
WRAP
chmod 755 "$TMP/wsx-ssh-agent"
export WSX_AGENT_REUSE=0

# OpenSSH's fix of hostkey-agent.sh for builds without a security key
# provider (V_10_0_P1, commit 50c640d8), applied when the copy lacks it.
HK=$TMP/regress/hostkey-agent.sh
if [ -f "$HK" ] && ! grep -q "cert-v01@openssh.com' | maybe_filter_sk" "$HK"; then
	sed "s/^\(SSH_CERTTYPES=.*grep 'cert-v01@openssh.com'\)\`\$/\1 | maybe_filter_sk\`/" "$HK" > "$HK.new" &&
		mv "$HK.new" "$HK"
	grep -q "cert-v01@openssh.com' | maybe_filter_sk" "$HK" ||
		{ echo "could not apply the sk filter to hostkey-agent.sh" >&2; exit 2; }
fi

# ssh, with DSA left out of the key types the scripts loop over; first on
# PATH, so a bare `ssh -Q` in a script is filtered too.
SSH=$(command -v ssh)
if [ "${KEEP_DSA:-}" != 1 ]; then
	mkdir -p "$TMP/bin"
	cat > "$TMP/bin/ssh" <<WRAP
#!/bin/sh
for a in "\$@"; do [ "\$a" = -Q ] && { "$SSH" "\$@" | grep -v '^ssh-dss'; exit; }; done
exec "$SSH" "\$@"
WRAP
	chmod 755 "$TMP/bin/ssh"
	SSH=$TMP/bin/ssh
	PATH=$TMP/bin:$PATH
	export PATH
fi
AGENT=$TMP/wsx-ssh-agent
[ "${BASELINE:-}" = 1 ] && AGENT=$(command -v ssh-agent)

SSHD=$(command -v sshd || echo /usr/sbin/sshd)
fail=0
for t in $TESTS; do
	printf 'run test %s.sh ...\n' "$t"
	(cd "$TMP/regress" && env \
		TEST_SHELL=sh \
		TEST_SSH_UNSAFE_PERMISSIONS=1 \
		TEST_SSH_SSH="$SSH" \
		TEST_SSH_SSHD="$SSHD" \
		TEST_SSH_SSHAGENT="$AGENT" \
		TEST_SSH_SSHADD=$(command -v ssh-add) \
		TEST_SSH_SSHKEYGEN=$(command -v ssh-keygen) \
		TEST_SSH_SSHKEYSCAN=$(command -v ssh-keyscan) \
		TEST_SSH_SFTPSERVER=/usr/lib/openssh/sftp-server \
		sh "$TMP/regress/test-exec.sh" "$OBJ" "$TMP/regress/$t.sh") || fail=$((fail + 1))
done
echo "failed: $fail of $(echo $TESTS | wc -w)"
[ "$fail" = 0 ]
