package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// l on a Live row opens the links of its user: the ring sharing its IP;
// enter on a ring member opens that member's journey, whose title says
// who shares its IP; esc comes back to the links.
func TestLinksInTmux(t *testing.T) {
	s, url := dashboard(t, 160, 40)
	var ring []event
	for i := 2; i <= 4; i++ {
		ring = append(ring, event{ID: fmt.Sprintf("ring-%d", i), User: fmt.Sprintf("ring-%d", i), Email: fmt.Sprintf("r%d@example.com", i),
			IP: "198.51.100.7", UA: uaChrome, Type: "login/succeeded"})
	}
	post(t, url, ring)
	s.waitScreen("the ring", 20*time.Second, func(scr string) bool { return strings.Contains(scr, "3 decisions") })
	// The newest row, selected: ring-1, on the ring's IP.
	post(t, url, []event{{ID: "ring-1", User: "ring-1", Email: "r1@example.com", IP: "198.51.100.7", UA: uaCurl, Type: "login/succeeded"}})
	s.waitScreen("ring-1 on top", 20*time.Second, func(scr string) bool { return strings.Contains(scr, "4 decisions") })

	s.keys("l")
	s.waitScreen("the links of ring-1", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "Links of ring-1") && strings.Contains(scr, "ip 198.51.100.7  3 users") &&
			strings.Contains(scr, "ring-2") && strings.Contains(scr, "ring-3") && strings.Contains(scr, "ring-4")
	})
	// The user, the IP, then its first user.
	s.keys("j", "j", "Enter")
	scr := s.waitScreen("a ring member's journey", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "[3 Journeys]") && regexp.MustCompile(`User ring-[234]`).MatchString(scr) &&
			strings.Contains(scr, "shares IP with 3 users")
	})
	if strings.Contains(scr, "User ring-1") {
		t.Errorf("enter opened the wrong journey:\n%s", scr)
	}
	s.keys("Escape")
	s.waitScreen("the links again", 10*time.Second, func(scr string) bool { return strings.Contains(scr, "Links of ring-1") })
}
