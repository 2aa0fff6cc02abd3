package api

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// The parts of a users query a federation needs to answer its top users
// exactly (federation_users.go): a page further down the order (Offset)
// and the summaries of named users (Users), and how one user's summaries
// of several collectors combine.

const (
	// MaxUserOffset is the largest UsersQuery.Offset: a reader reads the
	// users before the page too, so a deeper page costs as much as a
	// list of that length.
	MaxUserOffset = 1_000_000
	// MaxUsersAsked is the most users one UsersQuery.Users names.
	MaxUsersAsked = 500
)

// UserIDs are user IDs as one query parameter: comma-separated, each
// query-escaped (so an ID may hold a comma); none is "".
type UserIDs []string

// MarshalText writes ids as UnmarshalText reads them.
func (ids UserIDs) MarshalText() ([]byte, error) {
	var b strings.Builder
	for i, id := range ids {
		if id == "" {
			return nil, errors.New("an empty user ID")
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(url.QueryEscape(id))
	}
	return []byte(b.String()), nil
}

// UnmarshalText reads comma-separated query-escaped IDs: at most
// MaxUsersAsked, none empty.
func (ids *UserIDs) UnmarshalText(text []byte) error {
	*ids = nil
	if len(text) == 0 {
		return nil
	}
	parts := strings.Split(string(text), ",")
	if len(parts) > MaxUsersAsked {
		return fmt.Errorf("%d users, at most %d", len(parts), MaxUsersAsked)
	}
	out := make(UserIDs, 0, len(parts))
	for _, p := range parts {
		id, err := url.QueryUnescape(p)
		if err != nil || id == "" {
			return fmt.Errorf("%q is not a query-escaped user ID", p)
		}
		out = append(out, id)
	}
	*ids = out
	return nil
}

// Window checks q's page and returns how many users from the start of the
// order a reader must read to answer it: Offset+Limit, or 0 (all) without
// a limit. Its errors wrap ErrInvalid.
func (q UsersQuery) Window() (int, error) {
	switch {
	case q.Offset < 0 || q.Offset > MaxUserOffset:
		return 0, Invalid(fmt.Errorf("offset: %d is not within 0 to %d", q.Offset, MaxUserOffset))
	case len(q.Users) > MaxUsersAsked:
		return 0, Invalid(fmt.Errorf("users: %d users, at most %d", len(q.Users), MaxUsersAsked))
	case len(q.Users) > 0 && (q.Search != "" || q.IP != "" || q.Offset != 0):
		return 0, Invalid(errors.New("users: asks for named users, with no search, IP or offset"))
	case slices.Contains(q.Users, ""):
		return 0, Invalid(errors.New("users: an empty user ID"))
	case q.Limit <= 0:
		return 0, nil
	}
	return q.Offset + q.Limit, nil
}

// Page cuts q's page out of us, the first users of the order (as many as
// Window says, or fewer when there are no more).
func (q UsersQuery) Page(us []decision.UserSummary) []decision.UserSummary {
	us = us[min(max(q.Offset, 0), len(us)):]
	if q.Limit > 0 && len(us) > q.Limit {
		us = us[:q.Limit]
	}
	return us
}

// CombineUser combines one user's summaries of several collectors (each
// holding some of the user's decisions, none twice) into the summary one
// collector holding them all would give: counts add, FirstSeen is the
// earliest, LastSeen and MaxRisk the highest. Email, LastIP and
// LastCountry are each the non-empty value of the summary with the latest
// LastSeen that has one (ties go to the earlier of parts): exact when the
// newest decision of each collector that has a value carries it, since a
// summary does not say when its value was seen. parts must not be empty.
func CombineUser(parts []decision.UserSummary) decision.UserSummary {
	out := parts[0]
	if len(parts) == 1 {
		return out
	}
	newest := slices.Clone(parts)
	slices.SortStableFunc(newest, func(a, b decision.UserSummary) int { return b.LastSeen.Compare(a.LastSeen) })
	out.Email, out.LastIP, out.LastCountry = "", "", ""
	for _, p := range newest {
		out.Email = cmp.Or(out.Email, p.Email)
		out.LastIP = cmp.Or(out.LastIP, p.LastIP)
		out.LastCountry = cmp.Or(out.LastCountry, p.LastCountry)
	}
	out.Count, out.Denies, out.Challenges, out.MaxRisk = 0, 0, 0, 0
	out.FirstSeen, out.LastSeen = parts[0].FirstSeen, parts[0].LastSeen
	for _, p := range parts {
		out.Count += p.Count
		out.Denies += p.Denies
		out.Challenges += p.Challenges
		out.MaxRisk = max(out.MaxRisk, p.MaxRisk)
		out.FirstSeen = earlier(out.FirstSeen, p.FirstSeen)
		out.LastSeen = later(out.LastSeen, p.LastSeen)
	}
	return out
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
