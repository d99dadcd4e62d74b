package exec

import (
	"maps"
	"slices"
)

// Project is what the wsx.toml that governs the working directory asks of
// `wsx exec`; *manifest.Manifest is one. Run reads names through it, not
// the file they came from. Unless Spec.Only or Spec.All says otherwise,
// the command gets the secrets the project declares, under the variables
// it renames them to, and does not start while a required one is missing
// (the error MissingNames returns). Whatever the flags, the secrets it
// marks for the proxy go through the proxy, and it can turn the
// `accessed` records off.
type Project interface {
	// Declared returns the names of the secrets the project declares, in
	// its order, and those it requires.
	Declared() (names, required []string)
	// Renames maps a secret to the variable it goes in as, where that
	// is not its name.
	Renames() map[string]string
	// Proxied names the secrets that go through the proxy.
	Proxied() []string
	// AccessAudit says whether where the command reads each secret is
	// recorded.
	AccessAudit() bool
	// MissingNames is the error for required secrets the store lacks:
	// it names each one with the command that adds it.
	MissingNames(names []string) error
}

// governs says the Project chooses the secrets: no --only, no --all.
func (spec Spec) governs() bool {
	return spec.Project != nil && !spec.All && len(spec.Only) == 0
}

// governed returns spec with what its Project and its flags decide
// applied: the project's renames (when it chooses) and proxied secrets,
// whether reads are recorded, and the default Inject.
func (spec Spec) governed() Spec {
	if p := spec.Project; p != nil {
		if spec.governs() {
			// --env wins over the project's env = "NEW".
			spec.Rename = MergeRenames(maps.Clone(spec.Rename), p.Renames())
		}
		spec.ProxyNames = append(slices.Clip(spec.ProxyNames), p.Proxied()...)
		if !p.AccessAudit() {
			spec.NoAccessAudit = true
		}
	}
	if spec.NoAccessAudit {
		spec.Access = nil
	} else if spec.Access != nil && spec.KeepLog != nil {
		// The log stays open while the command runs, for the `accessed`
		// records; the store is locked as before.
		spec.Close = spec.KeepLog
	}
	if spec.Inject == "" {
		spec.Inject = DefaultInject(spec.Role)
	}
	return spec
}
