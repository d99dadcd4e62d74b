package daemon

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/store"
)

// wireSecret is a store.Secret on the wire: its metadata, and each of its
// store.Value fields base64-encoded under the field's Go name ("Value",
// and any other value the secret keeps). Values travel only over the
// owner's socket.
type wireSecret struct {
	Meta   store.Meta        `json:"meta"`
	Values map[string][]byte `json:"values,omitempty"`
}

var valueType = reflect.TypeFor[store.Value]()

// encodeSecret puts sec on the wire: the current value only, or every
// value field when all is set (for an update, which must send them back).
func encodeSecret(sec store.Secret, all bool) wireSecret {
	w := wireSecret{Meta: sec.Meta, Values: map[string][]byte{}}
	v := reflect.ValueOf(sec)
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type != valueType || !f.IsExported() || (!all && f.Name != "Value") {
			continue
		}
		if b := v.Field(i).Interface().(store.Value).Bytes(); len(b) > 0 {
			w.Values[f.Name] = b
		}
	}
	return w
}

// decode is the inverse of encodeSecret. A value under a name the secret
// has no field for is an error, so nothing is silently dropped.
func (w wireSecret) decode() (store.Secret, error) {
	sec := store.Secret{Meta: w.Meta}
	v := reflect.ValueOf(&sec).Elem()
	for name, b := range w.Values {
		f, ok := v.Type().FieldByName(name)
		if !ok || f.Type != valueType || !f.IsExported() || len(f.Index) != 1 {
			return store.Secret{}, fmt.Errorf("%w: secret %s: unknown value field %q", errBadRequest, w.Meta.Name, name)
		}
		v.Field(f.Index[0]).Set(reflect.ValueOf(store.NewValue(b)))
	}
	return sec, nil
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
	{"conflict", ErrConflict, http.StatusConflict},
	{"not_found", store.ErrNotFound, http.StatusNotFound},
	{"exists", store.ErrExists, http.StatusConflict},
	{"wrong_passphrase", store.ErrWrongPassphrase, http.StatusUnauthorized},
	{"empty_passphrase", store.ErrEmptyPassphrase, http.StatusBadRequest},
	{"locked", store.ErrLocked, http.StatusLocked},
	{"audit_unavailable", audit.ErrUnavailable, http.StatusServiceUnavailable},
	{"invalid_record", audit.ErrInvalidRecord, http.StatusBadRequest},
	{"invalid_name", store.ErrInvalidName, http.StatusBadRequest},
	{"dangerous_name", store.ErrDangerousName, http.StatusBadRequest},
	{"invalid_type", store.ErrInvalidType, http.StatusBadRequest},
	{"invalid_value", store.ErrInvalidValue, http.StatusBadRequest},
	{"rotation_pending", store.ErrRotationPending, http.StatusConflict},
	{"no_previous", store.ErrNoPrevious, http.StatusConflict},
	{"integrity", store.ErrIntegrity, http.StatusInternalServerError},
	{"unsafe_permission", store.ErrUnsafePermission, http.StatusInternalServerError},
	{"backend", store.ErrBackend, http.StatusBadGateway},
	{"not_initialized", store.ErrNotInitialized, http.StatusInternalServerError},
	{"bad_request", errBadRequest, http.StatusBadRequest},
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
