package cmd

import (
	"errors"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/daemon"
	"github.com/wsxdev/wsx/internal/access"
	"github.com/wsxdev/wsx/internal/hint"
	"github.com/wsxdev/wsx/internal/prompt"
	"github.com/wsxdev/wsx/manifest"
	"github.com/wsxdev/wsx/provider"
	"github.com/wsxdev/wsx/store"
)

// Exit codes, as DESIGN.md §5 lists them.
const (
	ExitOK         = 0
	ExitError      = 1
	ExitUsage      = 2
	ExitNotFound   = 3
	ExitLocked     = 4
	ExitPermission = 5
)

// errPermission is returned when the caller is not allowed to do what it
// asked. The agent's refusal (daemon.ErrDenied), a store file of another
// owner or with loose modes (store.ErrUnsafePermission), a passphrase file
// others may read (prompt.ErrExposed) and a wsx.toml
// another user could have written (manifest.ErrForeign) exit 5 too.
var errPermission = errors.New("permission denied")

// exitCode maps an error to the exit code table. It is the only place that
// knows the table.
func exitCode(err error) int {
	var ee exitError
	var ue usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.Code
	case errors.As(err, &ue):
		return ExitUsage
	case errors.Is(err, store.ErrNotFound), errors.Is(err, provider.ErrNotFound):
		return ExitNotFound
	case errors.Is(err, access.ErrInvalidGrant):
		return ExitUsage
	case errors.Is(err, store.ErrLocked), errors.Is(err, store.ErrWrongPassphrase):
		return ExitLocked
	case errors.Is(err, errPermission), errors.Is(err, prompt.ErrExposed), errors.Is(err, daemon.ErrDenied), errors.Is(err, store.ErrUnsafePermission),
		errors.Is(err, manifest.ErrForeign), errors.Is(err, provider.ErrAuth):
		return ExitPermission
	case errors.Is(err, daemon.ErrUntrusted), errors.Is(err, daemon.ErrNotAgent):
		return ExitPermission
	}
	return ExitError
}

// gitUnlockHint is the fix the credential helper shows for a locked store:
// `wsx unlock` only when an agent runs to take it; else "" leaves
// credhelper's, which starts the agent (`wsx unlock` would fail, as no
// agent runs).
func (s *session) gitUnlockHint() string {
	if s.agentLocked != 0 || s.client != nil {
		return "unlock the agent with `wsx unlock` (or set WSX_PASSPHRASE_FILE)"
	}
	return ""
}

// hintOf is the fix printed under err: its own, else defaultHint's.
func hintOf(err error) string {
	if h := hint.Of(err); h != "" {
		return h
	}
	return defaultHint(err)
}

// defaultHint is the fix printed under an error that carries none of its own.
func defaultHint(err error) string {
	switch {
	case errors.Is(err, store.ErrNotInitialized):
		return "create a store with `wsx init` (WSX_HOME chooses where)"
	case errors.Is(err, store.ErrAlreadyInit):
		return "the existing store is kept; set WSX_HOME to create another one elsewhere"
	case errors.Is(err, store.ErrWrongPassphrase):
		return "check the passphrase (or the file named by --passphrase-file / WSX_PASSPHRASE_FILE); nothing was changed"
	case errors.Is(err, access.ErrGuestLocked):
		return "only the workspace's owner unlocks it (`wsx unlock`); a guest never does"
	case errors.Is(err, store.ErrLocked):
		return "unlock by running in a terminal, or point WSX_PASSPHRASE_FILE (or --passphrase-file) at a file holding the passphrase"
	case errors.Is(err, store.ErrNotFound):
		return "`wsx list` shows the names in this store"
	case errors.Is(err, store.ErrHeader):
		return "store.json (the store header) is damaged or was edited; restore it from a backup: the items open only with the header they were made with"
	case errors.Is(err, store.ErrIntegrity):
		return "the item was modified outside wsx; restore it from a backup or remove and re-add the secret"
	case errors.Is(err, manifest.ErrForeign):
		return "a wsx.toml decides which secrets a command gets: use one you own and only you can write (`chmod go-w`), or pass --only or --all"
	case errors.Is(err, daemon.ErrUntrusted):
		return "only a run directory of yours (mode 0700, not a symlink) and an agent of yours or root's are used; remove what another user put there, or set XDG_RUNTIME_DIR / WSX_HOME to a private place"
	case errors.Is(err, audit.ErrUnavailable):
		return "make the audit log writable again (check disk space and permissions of WSX_HOME); no secret is released while it is not"
	}
	return ""
}
