package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// whatIfMetrics is the What-if view's label line: the counts, then the
// simulated deny's precision and recall.
var whatIfMetrics = regexp.MustCompile(`labels (\d+) fraud · (\d+) legit .*│ deny P (\S+) R (\S+) `)

// labelUsers labels users through POST /v1/labels.
func labelUsers(t *testing.T, url, class string, users ...string) {
	t.Helper()
	var w struct {
		Labels []map[string]string `json:"labels"`
	}
	for _, u := range users {
		w.Labels = append(w.Labels, map[string]string{"kind": "user", "subject": u, "class": class, "reason": "seen before"})
	}
	body, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url+"/v1/labels", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/labels: %s", resp.Status)
	}
}

// metrics waits for the What-if view's label line to read fraud, legit,
// precision and recall and returns the screen.
func metrics(s *tmuxSession, what, fraud, legit, p, r string) string {
	return s.waitScreen(what, 10*time.Second, func(scr string) bool {
		m := whatIfMetrics.FindStringSubmatch(scr)
		return m != nil && m[1] == fraud && m[2] == legit && m[3] == p && m[4] == r
	})
}

// Labelling a decision's user fraud in Live moves the What-if view's
// precision, and z moves it back. With the deny threshold at 0 every
// decision would be denied: of one fraud and one legit user, precision is
// 0.50; labelling a third user fraud makes it 0.67 (two of three denies
// are fraud), recall staying 1.00.
func TestLabelMovesWhatIfPrecisionInTmux(t *testing.T) {
	s, url := dashboard(t, 220, 40)
	post(t, url, people("wif", 2))
	s.waitScreen("the first rows", 20*time.Second, func(scr string) bool { return len(rows(scr)) == 2 })
	labelUsers(t, url, "fraud", "wif-0001")
	labelUsers(t, url, "legit", "wif-0002")
	third := people("wif", 3)[2]
	post(t, url, []event{third})
	s.waitScreen("the third row", 10*time.Second, func(scr string) bool { return len(rowsOf(scr, third.User)) == 1 })

	s.keys("4")
	s.waitScreen("the What-if view", 10*time.Second, func(scr string) bool { return whatIfMetrics.MatchString(scr) })
	s.keys("d", "=", "0", "Enter")
	metrics(s, "precision before", "1", "1", "0.50", "1.00")

	// Following, Live selects the newest row: the third user's.
	s.keys("1")
	s.waitScreen("Live", 10*time.Second, func(scr string) bool { return len(rowsOf(scr, third.User)) == 1 })
	s.keys("f")
	s.waitScreen("the reason prompt", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "label user "+third.User+" fraud, reason:")
	})
	s.keys("chargeback 7", "Enter")
	s.waitScreen("the label in Live", 10*time.Second, func(scr string) bool {
		r := rowsOf(scr, third.User)
		return len(r) == 1 && strings.Contains(r[0], "FRAUD")
	})
	s.keys("4")
	metrics(s, "precision after the label", "2", "1", "0.67", "1.00")

	s.keys("1")
	s.waitScreen("Live", 10*time.Second, func(scr string) bool { return len(rowsOf(scr, third.User)) == 1 })
	s.keys("z")
	s.waitScreen("the label undone", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "undid the label of user "+third.User)
	})
	s.keys("4")
	metrics(s, "precision after the undo", "1", "1", "0.50", "1.00")
}
