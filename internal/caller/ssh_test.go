package caller

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSSHDestination(t *testing.T) {
	tests := []struct {
		argv []string
		dest string
		cmd  string
	}{
		{[]string{"ssh", "host"}, "host", "ssh host"},
		{[]string{"ssh", "-p", "2222", "git@host", "git-upload-pack", "'org/repo.git'"}, "git@host:2222", "ssh -p 2222 git@host git-upload-pack 'org/repo.git'"},
		{[]string{"ssh", "-o", "SendEnv=GIT_PROTOCOL", "-p2222", "git@host", "true"}, "git@host:2222", "ssh -p 2222 git@host true"},
		{[]string{"ssh", "-l", "bob", "-4Av", "-i", "key", "host"}, "bob@host", "ssh host"},
		{[]string{"ssh", "-o", "Port 2200", "-oUser=alice", "host"}, "alice@host:2200", "ssh -p 2200 host"},
		{[]string{"ssh", "-p", "22", "host"}, "host", "ssh -p 22 host"},
		{[]string{"ssh", "ssh://git@example.com:7999/org/repo"}, "git@example.com:7999", "ssh ssh://git@example.com:7999/org/repo"},
		{[]string{"ssh", "-p", "2222", "::1"}, "[::1]:2222", "ssh -p 2222 ::1"},
		{[]string{"ssh", "--", "host", "ls", "-l"}, "host", "ssh host ls -l"},
		{[]string{"ssh", "-J", "jump", "-W", "x:1", "dest"}, "dest", "ssh dest"},
		{[]string{"ssh", "-p"}, "", ""},
		{[]string{"ssh", "-v"}, "", ""},
		{[]string{"ssh"}, "", ""},
		{[]string{"ssh", "h", "1", "2", "3", "4", "5", "6", "7", "8"}, "h", "ssh h 1 2 3 4 5 6 ..."},
	}
	for _, tt := range tests {
		if got := SSHDestination(tt.argv[1:]); got != tt.dest {
			t.Errorf("SSHDestination(%q) = %q, want %q", tt.argv, got, tt.dest)
		}
		if got := SSHCommand(tt.argv); got != tt.cmd {
			t.Errorf("SSHCommand(%q) = %q, want %q", tt.argv, got, tt.cmd)
		}
	}
	if got := SSHCommand([]string{"ssh-keygen", "-Y", "sign"}); got != "" {
		t.Errorf("SSHCommand of ssh-keygen = %q", got)
	}
}

// FuzzSSHDestination: any command line (a peer's /proc cmdline is outside
// bytes) gives a bounded, valid UTF-8 answer and no panic.
func FuzzSSHDestination(f *testing.F) {
	f.Add("-p\x002222\x00git@host\x00git-upload-pack 'x'")
	f.Add("ssh://u@[::1]:22/x")
	f.Add("-oPort=\x00-l\x00\xff\xfe@h")
	f.Add("--\x00-p")
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\x00")
		d := SSHDestination(args)
		c := SSHCommand(append([]string{"ssh"}, args...))
		if len(d) > 256 || !utf8.ValidString(d) && utf8.ValidString(s) {
			t.Fatalf("destination %q", d)
		}
		if len(c) > 16+256+7*201+16 {
			t.Fatalf("command of %d bytes", len(c))
		}
	})
}
