package main

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// promptUser is the user the reason prompt of f names.
var promptUser = regexp.MustCompile(`label user (lbl-\d+) fraud, reason:`)

// liveRow is a row of the Live table.
var liveRow = regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d .*$`)

// rowsOf returns the Live rows of user on screen.
func rowsOf(screen, user string) []string {
	var out []string
	for _, r := range liveRow.FindAllString(screen, -1) {
		if strings.Contains(r, " "+user+" ") {
			out = append(out, r)
		}
	}
	return out
}

// f on a Live row labels its user fraud after asking why: the user's rows
// show FRAUD, a decision of that user arriving later too, and z undoes it.
func TestLabelUserInLiveInTmux(t *testing.T) {
	s, url := dashboard(t, 160, 30)
	post(t, url, people("lbl", 3))
	s.waitScreen("the rows", 20*time.Second, func(scr string) bool {
		return strings.Contains(scr, "3 decisions") && len(rows(scr)) == 3
	})
	// Following: the newest row is selected (scoring runs in parallel,
	// so which user's it is varies).
	s.keys("f")
	scr := s.waitScreen("the reason prompt", 10*time.Second, func(scr string) bool {
		return promptUser.MatchString(scr)
	})
	user := promptUser.FindStringSubmatch(scr)[1]
	s.keys("chargeback 42", "Enter")
	scr = s.waitScreen("the label in Live", 10*time.Second, func(scr string) bool {
		r := rowsOf(scr, user)
		return len(r) == 1 && strings.Contains(r[0], "FRAUD") && strings.Contains(scr, "labelled user "+user+" fraud")
	})
	if n := strings.Count(scr, "FRAUD"); n != 1 {
		t.Fatalf("%d rows labelled, want only %s's:\n%s", n, user, scr)
	}
	// A new decision of the labelled user arrives labelled.
	again := event{ID: user + "-again", User: user, Email: "again@example.com", IP: "192.0.2.99", UA: uaChrome, Type: "login/succeeded"}
	post(t, url, []event{again})
	s.waitScreen("the new decision labelled", 10*time.Second, func(scr string) bool {
		r := rowsOf(scr, user)
		return len(r) == 2 && strings.Contains(r[0], "FRAUD") && strings.Contains(r[1], "FRAUD")
	})
	s.keys("z")
	s.waitScreen("the label undone", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "undid the label of user "+user) && !strings.Contains(scr, "FRAUD")
	})
}
