package secrets

import "testing"

func TestWeakPassphrase(t *testing.T) {
	for _, tc := range []struct {
		pass string
		weak bool
	}{
		{"abc", true},
		{"xk7#Qz9", true},
		{"password", true},
		{"Password123!", true},
		{"2024password", true},
		{"qwertyuiopasdfghjkl", true},
		{"abcdefghijklmnop", true},
		{"123456789012", true},
		{"abcabcabcabc", true},
		{"aaaaaaaaaaaaaaaa", true},
		{"abababababababab", true},
		{"correct horse battery staple", false},
		{"tty passphrase one", false},
		{"k7#Qz9!wLp2@", false},
		{"a new passphrase for the store", false},
	} {
		why := WeakPassphrase([]byte(tc.pass))
		if (why != "") != tc.weak {
			t.Errorf("WeakPassphrase(%q) = %q, want weak %v", tc.pass, why, tc.weak)
		}
	}
}
