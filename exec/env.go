package exec

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// EnvMarker is set to "1" in every environment BuildEnv returns. A wsx
// that finds it in its own environment runs inside `wsx exec`.
const EnvMarker = "WSX_EXEC"

// ErrBadEnv reports a secret that cannot be an environment variable.
var ErrBadEnv = errors.New("cannot pass secret in the environment")

// Injected is one secret released to a child as an environment variable.
type Injected struct {
	Name  string
	Value []byte
}

// CheckInjected reports the first secret whose name is not a valid variable
// name or whose value contains a NUL byte (which the environment cannot
// carry; such a value should be a file secret). The error names the secret.
func CheckInjected(secrets []Injected) error {
	for _, s := range secrets {
		if !validEnvName(s.Name) {
			return fmt.Errorf("secret %q: name is not a variable name: %w", s.Name, ErrBadEnv)
		}
		if bytes.IndexByte(s.Value, 0) >= 0 {
			return fmt.Errorf("secret %s: value contains a NUL byte, use a file secret: %w", s.Name, ErrBadEnv)
		}
	}
	return nil
}

// validEnvName accepts [A-Za-z_][A-Za-z0-9_]*.
func validEnvName(name string) bool {
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// BuildEnv returns the child's environment: parent with exactly one entry
// per name, each secret in secrets replacing any parent entry of its name,
// and EnvMarker=1.
//
// Parent entries keep their order; of duplicates the last value is kept
// (as os/exec does). Entries without '=' or with an empty name are dropped.
// Secrets follow in the order given (a repeated name keeps its last value);
// a secret with an invalid name (see CheckInjected) is skipped. EnvMarker
// comes last and is never overridden.
func BuildEnv(parent []string, secrets []Injected) []string {
	override := make(map[string]bool, len(secrets)+1)
	last := make(map[string]int, len(secrets))
	for i, s := range secrets {
		if validEnvName(s.Name) && s.Name != EnvMarker {
			override[s.Name] = true
			last[s.Name] = i
		}
	}
	override[EnvMarker] = true

	env := make([]string, 0, len(parent)+len(secrets)+1)
	index := make(map[string]int, len(parent))
	for _, kv := range parent {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" || override[name] {
			continue
		}
		if i, dup := index[name]; dup {
			env[i] = kv
			continue
		}
		index[name] = len(env)
		env = append(env, kv)
	}
	for i, s := range secrets {
		if j, ok := last[s.Name]; ok && j == i {
			env = append(env, s.Name+"="+string(s.Value))
		}
	}
	return append(env, EnvMarker+"=1")
}

// Nested reports whether env marks a process started by wsx exec.
func Nested(env []string) bool {
	v, ok := lookupEnv(env, EnvMarker)
	return ok && v != "" && v != "0"
}

// lookupEnv returns the value of the last entry named name.
func lookupEnv(env []string, name string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}
