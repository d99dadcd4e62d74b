package caller

import (
	"net/url"
	"path/filepath"
	"strings"
)

// sshArgFlags are ssh's options that take an argument (ssh(1), OpenSSH 9).
const sshArgFlags = "BbcDEeFIiJLlmOoPpQRSWw"

// sshArgs is an ssh command line, parsed: the destination as written, the
// user and port given by options, and the remote command.
type sshArgs struct {
	target     string
	user, port string
	remote     []string
}

// parseSSHArgs reads ssh's arguments (argv without the program name) as
// ssh's getopt does: clustered flags, values attached ("-p2222") or in the
// next argument, the destination at the first argument that is not an
// option. ok is false when there is no destination.
func parseSSHArgs(args []string) (a sshArgs, ok bool) {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			i++
			if i >= len(args) {
				return a, false
			}
			a.target, a.remote = args[i], args[i+1:]
			return a, true
		}
		if len(arg) < 2 || arg[0] != '-' {
			a.target, a.remote = arg, args[i+1:]
			return a, true
		}
		for j := 1; j < len(arg); j++ {
			if !strings.ContainsRune(sshArgFlags, rune(arg[j])) {
				continue
			}
			val := arg[j+1:]
			if val == "" {
				i++
				if i >= len(args) {
					return a, false
				}
				val = args[i]
			}
			switch arg[j] {
			case 'l':
				a.user = val
			case 'p':
				a.port = val
			case 'o':
				if k, v, ok := cutOption(val); ok {
					switch strings.ToLower(k) {
					case "port":
						a.port = v
					case "user":
						a.user = v
					}
				}
			}
			break
		}
	}
	return a, false
}

// SSHDestination reads the destination from ssh's arguments (argv without
// the program name), as the audit log shows it: "user@host:port", with
// the user from -l, -o User= or user@ and the port from -p, -o Port= or an
// ssh:// URL, when given. It returns "" when there is none. The result is
// at most 256 bytes.
func SSHDestination(args []string) string {
	a, ok := parseSSHArgs(args)
	if !ok {
		return ""
	}
	user, port, host := a.user, a.port, a.target
	if strings.HasPrefix(host, "ssh://") {
		if u, err := url.Parse(host); err == nil && u.Host != "" {
			if u.User != nil {
				user = u.User.Username()
			}
			if u.Port() != "" {
				port = u.Port()
			}
			host = u.Hostname()
		}
	} else if at := strings.LastIndexByte(host, '@'); at >= 0 {
		user, host = host[:at], host[at+1:]
	}
	dest := host
	if port != "" && port != "22" {
		if strings.Contains(host, ":") {
			dest = "[" + dest + "]"
		}
		dest += ":" + port
	}
	if user != "" {
		dest = user + "@" + dest
	}
	return cut(dest, 256)
}

// SSHCommand is the short form of an ssh command line the audit log
// shows: the program, the port option, the destination and the remote
// command, without the other options, e.g. "ssh -p 2222 git@host
// git-upload-pack 'org/repo.git'". It returns "" when argv is not ssh with
// a destination.
func SSHCommand(argv []string) string {
	if len(argv) == 0 || filepath.Base(argv[0]) != "ssh" {
		return ""
	}
	a, ok := parseSSHArgs(argv[1:])
	if !ok {
		return ""
	}
	parts := []string{"ssh"}
	if a.port != "" {
		parts = append(parts, "-p", cut(a.port, 16))
	}
	parts = append(parts, cut(a.target, 256))
	for i, r := range a.remote {
		if i == 6 {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, cut(r, 200))
	}
	return strings.Join(parts, " ")
}

// cut shortens s to at most n bytes of valid UTF-8.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// cutOption splits an -o argument, "Key=Value" or "Key Value".
func cutOption(s string) (key, value string, ok bool) {
	if k, v, ok := strings.Cut(s, "="); ok {
		return strings.TrimSpace(k), strings.TrimSpace(v), true
	}
	k, v, ok := strings.Cut(strings.TrimSpace(s), " ")
	return k, strings.TrimSpace(v), ok
}
