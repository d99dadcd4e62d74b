#!/bin/sh
# A tour of wsx on a throwaway store: nothing outside a temporary
# directory is touched. Run it with `make demo`.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
PATH="$here/bin:$PATH"
demo=$(mktemp -d "${TMPDIR:-/tmp}/wsx-demo.XXXXXX")
trap 'rm -rf "$demo"' EXIT INT TERM
export WSX_HOME="$demo/wsx" HOME="$demo/home"
mkdir -p "$HOME"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

# The demo's passphrase sits in a 0600 file; in real use, wsx asks on the terminal.
umask 077
printf 'demo passphrase, not for real use\n' > "$demo/passphrase"
export WSX_PASSPHRASE_FILE="$demo/passphrase"
token="ghp_demo$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

step wsx init
wsx init --kdf-memory 16 --kdf-time 1

step 'echo "$TOKEN" | wsx add GITHUB_TOKEN --type token --host github.com --description "GitHub API token"'
printf '%s\n' "$token" | wsx add GITHUB_TOKEN --type token --host github.com --description "GitHub API token"

step 'ssh-keygen -t ed25519 -f id_ed25519 && wsx add GITHUB_DEPLOY_KEY --type key --from-file id_ed25519'
ssh-keygen -q -t ed25519 -N '' -C demo -f "$demo/id_ed25519"
wsx add GITHUB_DEPLOY_KEY --type key --from-file "$demo/id_ed25519"
rm -f "$demo/id_ed25519"

step wsx list
wsx list

step 'wsx info GITHUB_TOKEN --json'
wsx info GITHUB_TOKEN --json

step "wsx exec -- sh -c 'echo \"the token is \$GITHUB_TOKEN\"; printf %s \"\$GITHUB_TOKEN\" | base64'"
wsx exec -- sh -c 'echo "the token is $GITHUB_TOKEN"; printf %s "$GITHUB_TOKEN" | base64'

step "printf 'protocol=https\\nhost=github.com\\n' | git credential fill   # with credential.helper=wsx"
git config --global credential.helper wsx
printf 'protocol=https\nhost=github.com\n\n' | git -c credential.interactive=false credential fill | sed 's/^password=.*/password=(the token; not shown here)/'

step "wsx agent sh -c 'ssh-add -l'   # the key lives only in the store and the agent's memory"
wsx agent sh -c 'ssh-add -l'

step 'wsx rotate GITHUB_TOKEN'
printf '%s\n' "${token}2" | wsx rotate GITHUB_TOKEN

step wsx status
wsx status

step wsx audit
wsx audit

step 'wsx audit verify'
wsx audit verify

step "grep -r the token's value in the store, the audit log and HOME"
if grep -rqF "$token" "$WSX_HOME" "$HOME"; then
	echo "LEAK: the value is in the store in clear" >&2
	exit 1
fi
echo "not found: the store holds it encrypted"
