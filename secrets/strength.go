package secrets

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// minPassphraseLen is the length below which a store passphrase draws a
// warning. Argon2id slows each guess down, but a copy of store.json can be
// attacked offline for as long as the attacker likes.
const minPassphraseLen = 12

// commonPassphrases are bases that leaked-password lists start with; a
// passphrase made of one of them plus digits or punctuation is as weak.
var commonPassphrases = []string{
	"password", "passw0rd", "passphrase", "qwerty", "qwertyuiop", "azerty", "asdfgh", "zxcvbn",
	"letmein", "welcome", "admin", "administrator", "iloveyou", "monkey", "dragon", "master",
	"sunshine", "princess", "football", "baseball", "superman", "batman", "trustno1", "shadow",
	"secret", "changeme", "default", "login", "abc", "abcdef", "123456", "1234567890", "111111",
	"000000", "hello", "freedom", "whatever", "starwars", "computer", "michael", "jennifer",
	"hunter", "charlie", "liverpool", "pokemon", "wsx", "wsxpassword", "mypassword", "test",
}

// WeakPassphrase returns why p is a weak passphrase, or "" when nothing
// obvious is wrong with it. It is a first line of defence, not an estimate
// of entropy: it catches short passphrases, the common ones (also with
// digits or punctuation added), keyboard or alphabet runs and repeats.
func WeakPassphrase(p []byte) string {
	s := string(p)
	n := utf8.RuneCountInString(s)
	lower := strings.ToLower(s)
	base := strings.TrimRightFunc(strings.TrimLeftFunc(lower, notLetter), notLetter)
	for _, c := range commonPassphrases {
		if lower == c || base == c {
			return "it is one of the most common passwords"
		}
	}
	if isRun(lower) {
		return "it is a keyboard or alphabet sequence"
	}
	distinct := map[rune]bool{}
	for _, r := range s {
		distinct[r] = true
	}
	if n >= 4 && len(distinct) <= 3 {
		return "it repeats a few characters"
	}
	if n < minPassphraseLen {
		return "it is shorter than 12 characters"
	}
	return ""
}

func notLetter(r rune) bool { return !unicode.IsLetter(r) }

// runs are the sequences people type without thinking.
var runs = []string{
	"abcdefghijklmnopqrstuvwxyz", "zyxwvutsrqponmlkjihgfedcba",
	"012345678901234567890", "098765432109876543210", "qwertyuiopasdfghjklzxcvbnm", "mnbvcxzlkjhgfdsapoiuytrewq",
	"1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
}

// isRun reports whether s is a part of one of runs, repeated or not.
func isRun(s string) bool {
	if len(s) < 3 {
		return false
	}
	for _, r := range runs {
		if strings.Contains(r, s) {
			return true
		}
		// A run typed twice or more: "abcabcabc", "qwertyqwerty".
		for l := 3; l <= len(s)/2; l++ {
			if strings.Contains(r, s[:l]) && strings.Repeat(s[:l], len(s)/l+1)[:len(s)] == s {
				return true
			}
		}
	}
	return false
}
