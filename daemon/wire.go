package daemon

import (
	"errors"
	"net/http"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/access"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/store"
)

// wireSecret is a store.Secret on the wire: its metadata and its current
// value (base64 in JSON). Values travel only over the owner's socket; the
// previous value of a pending rotation never does.
type wireSecret struct {
	Meta  store.Meta `json:"meta"`
	Value []byte     `json:"value,omitempty"`
}

func encodeSecret(sec store.Secret) wireSecret {
	return wireSecret{Meta: sec.Meta, Value: sec.Value.Bytes()}
}

func (w wireSecret) decode() store.Secret {
	return store.Secret{Meta: w.Meta, Value: store.NewValue(w.Value)}
}

// wireEdit is a store.Edit on the wire, the body of PATCH
// /v1/secrets/{name}.
type wireEdit struct {
	Type        store.Type     `json:"type,omitempty"`
	Description *string        `json:"description,omitempty"`
	Hosts       *[]string      `json:"hosts,omitempty"`
	Username    *string        `json:"username,omitempty"`
	RotateEvery *time.Duration `json:"rotate_every,omitempty"`
	Expires     *time.Time     `json:"expires,omitempty"`
	Value       []byte         `json:"value,omitempty"`
	SetValue    bool           `json:"set_value,omitempty"`
	Rotate      bool           `json:"rotate,omitempty"`
	Undo        bool           `json:"undo,omitempty"`
	Finish      bool           `json:"finish,omitempty"`
	KeepSame    bool           `json:"keep_same,omitempty"`
}

func encodeEdit(e store.Edit) wireEdit {
	return wireEdit{Type: e.Type, Description: e.Description, Hosts: e.Hosts, Username: e.Username,
		RotateEvery: e.RotateEvery, Expires: e.Expires, Value: e.Value.Bytes(), SetValue: e.SetValue, Rotate: e.Rotate,
		Undo: e.Undo, Finish: e.Finish, KeepSame: e.KeepSame}
}

func (w wireEdit) decode() store.Edit {
	return store.Edit{Type: w.Type, Description: w.Description, Hosts: w.Hosts, Username: w.Username,
		RotateEvery: w.RotateEvery, Expires: w.Expires, Value: store.NewValue(w.Value), SetValue: w.SetValue, Rotate: w.Rotate,
		Undo: w.Undo, Finish: w.Finish, KeepSame: w.KeepSame}
}

// wireError is an error on the wire: its text and the kind of sentinel it
// wraps, if any.
type wireError struct {
	Kind    string `json:"kind"`
	Message string `json:"error"`
}

// errorKind maps the sentinels a caller branches on to a kind and the
// HTTP status that carries it. The first match wins.
var errorKinds = []struct {
	kind   string
	err    error
	status int
}{
	{"denied", ErrDenied, http.StatusForbidden},
	{"not_found", store.ErrNotFound, http.StatusNotFound},
	{"exists", store.ErrExists, http.StatusConflict},
	{"wrong_passphrase", store.ErrWrongPassphrase, http.StatusUnauthorized},
	{"empty_passphrase", store.ErrEmptyPassphrase, http.StatusBadRequest},
	{"guest_locked", guestLocked{}, http.StatusLocked}, // before "locked": it is one too
	{"locked", store.ErrLocked, http.StatusLocked},
	{"invalid_grant", access.ErrInvalidGrant, http.StatusBadRequest},
	{"not_granted", access.ErrNotGranted, http.StatusNotFound},
	{"audit_unavailable", audit.ErrUnavailable, http.StatusServiceUnavailable},
	{"invalid_record", audit.ErrInvalidRecord, http.StatusBadRequest},
	{"invalid_name", store.ErrInvalidName, http.StatusBadRequest},
	{"dangerous_name", store.ErrDangerousName, http.StatusBadRequest},
	{"invalid_type", store.ErrInvalidType, http.StatusBadRequest},
	{"invalid_value", store.ErrInvalidValue, http.StatusBadRequest},
	{"rotation_pending", store.ErrRotationPending, http.StatusConflict},
	{"no_previous", store.ErrNoPrevious, http.StatusConflict},
	{"unchanged", store.ErrUnchanged, http.StatusConflict},
	{"integrity", store.ErrIntegrity, http.StatusInternalServerError},
	{"choose_here", release.ErrChooseHere, http.StatusConflict},
	{"unsafe_permission", store.ErrUnsafePermission, http.StatusInternalServerError},
	{"backend", store.ErrBackend, http.StatusBadGateway},
	{"not_initialized", store.ErrNotInitialized, http.StatusInternalServerError},
	{"bad_request", errBadRequest, http.StatusBadRequest},
	{"other_store", ErrNoDaemon, http.StatusMisdirectedRequest},
}

func newWireError(err error) *wireError {
	we := &wireError{Kind: "error", Message: err.Error()}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		we.Kind = "bad_request"
		return we
	}
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			we.Kind = k.kind
			break
		}
	}
	return we
}

func statusOf(kind string) int {
	for _, k := range errorKinds {
		if k.kind == kind {
			return k.status
		}
	}
	return http.StatusInternalServerError
}

// writeError answers with err. Its text is the store's or audit's, which
// never holds a value.
func writeError(w http.ResponseWriter, err error) {
	we := newWireError(err)
	writeJSON(w, statusOf(we.Kind), we)
}

// RemoteError is an error the daemon answered with. Its text is the
// daemon's; errors.Is matches the sentinel its kind names (store.ErrLocked,
// store.ErrNotFound, ...).
type RemoteError struct {
	Kind    string
	Message string
}

func (e *RemoteError) Error() string { return e.Message }

// Unwrap returns the sentinel of the error's kind, or nil.
func (e *RemoteError) Unwrap() error {
	for _, k := range errorKinds {
		if k.kind == e.Kind {
			return k.err
		}
	}
	return nil
}
