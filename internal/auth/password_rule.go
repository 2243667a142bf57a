package auth

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode"

	"anticovid/internal/errs"
	"anticovid/internal/msg"
)

// MinPasswordLength is the shortest password any account may set: long
// enough that a guesser behind the login lockout gets nowhere, short enough
// for a phrase an official can type on a phone.
const MinPasswordLength = 12

// commonList is shipped in the binary: a server on a closed network has no
// breach service to ask.
//
//go:embed common_passwords.txt
var commonList string

// common is the list as a set, built on first use.
var common = sync.OnceValue(func() map[string]bool {
	set := make(map[string]bool, 10_100)
	for line := range strings.Lines(commonList) {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			set[strings.ToLower(line)] = true
		}
	}
	return set
})

// sequences are runs people type instead of choosing: a password inside one
// is refused however long it is.
var sequences = []string{"01234567890123456789", "98765432109876543210", "abcdefghijklmnopqrstuvwxyz",
	"qwertyuiopasdfghjklzxcvbnm", "zyxwvutsrqponmlkjihgfedcba", "1qaz2wsx3edc4rfv5tgb6yhn7ujm", "qazwsxedcrfvtgbyhnujmikolp", "azertyuiopqsdfghjklmwxcvbn"}

// CheckNewPassword is the one rule every password-setting path applies (the
// `user add` command, venue registration, changing one's own, the reset an
// administrator forces): 12 to 256 characters, not a common or breached
// password nor one dressed up with digits and symbols, not a repetition or a
// keyboard run, and not containing the username.
func CheckNewPassword(username, pw string) error {
	if problem := passwordProblem(username, pw); problem != "" {
		return fmt.Errorf("password: %w", &errs.Invalid{Fields: map[string]string{"password": problem}})
	}
	return nil
}

// passwordProblem says in both languages what is wrong with pw, or "".
func passwordProblem(username, pw string) string {
	key := passwordRule(username, pw)
	if key == "" {
		return ""
	}
	return msg.Both(key, MinPasswordLength)
}

// passwordRule returns the catalog key of what is wrong with pw, or "". Each
// key's text holds the minimum length, so every message can say it.
func passwordRule(username, pw string) string {
	if n := len([]rune(pw)); n < MinPasswordLength || n > 256 {
		return "account.password_length"
	}
	low := strings.ToLower(pw)
	if u := strings.ToLower(strings.TrimSpace(username)); len(u) >= 3 && strings.Contains(low, u) {
		return "account.password_has_username"
	}
	// The word under leading and trailing digits and symbols ("Password2021!").
	core := strings.TrimFunc(low, func(r rune) bool { return !unicode.IsLetter(r) })
	if common()[low] || common()[core] || common()[strings.Join(strings.Fields(core), "")] {
		return "account.password_common"
	}
	if distinct(low) < 5 || repeated(low) {
		return "account.password_pattern"
	}
	for _, s := range sequences {
		if strings.Contains(s, low) || strings.Contains(s, core) && len(core) >= MinPasswordLength/2 {
			return "account.password_pattern"
		}
	}
	return ""
}

// distinct counts the different characters of s.
func distinct(s string) int {
	seen := map[rune]bool{}
	for _, r := range s {
		seen[r] = true
	}
	return len(seen)
}

// repeated reports whether s is a shorter string said several times
// ("qwertyqwerty", "abcabcabcabc").
func repeated(s string) bool {
	for n := 1; n <= len(s)/2; n++ {
		if len(s)%n == 0 && strings.Repeat(s[:n], len(s)/n) == s {
			return true
		}
	}
	return false
}
