package collector

import (
	"context"
	"slices"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/store"
)

// namedUsers answers a SearchUsers that names its users (q.Users): the
// summary of each named user the store holds, in q.Sort's order. The store
// keeps no lookup of one user's summary outside its writer, so a few users
// are each folded from their decisions as the store folds them (oldest
// event time first, a later stored decision winning a tie), at the cost of
// their decisions read brief; when they are at least 1/scanShare of the
// store's users, one pass over every summary costs less.
func (r *Reader) namedUsers(ctx context.Context, q api.UsersQuery) (api.UserList, error) {
	want := map[string]bool{}
	for _, user := range q.Users {
		want[user] = true
	}
	var out []decision.UserSummary
	if all, err := r.db.UserPage(ctx, store.UsersQuery{Sort: q.Sort, Limit: 1}); err != nil {
		return api.UserList{}, kinded(err)
	} else if len(want)*scanShare >= all.Total {
		us, err := r.db.Users(ctx, store.UsersQuery{Sort: q.Sort})
		if err != nil {
			return api.UserList{}, kinded(err)
		}
		for _, u := range us {
			if want[u.UserID] {
				out = append(out, u)
			}
		}
		return api.UserList{Users: out, Total: len(out)}, nil
	}
	for user := range want {
		ds, err := r.db.UserDecisionsOf(ctx, user, 0, store.Short)
		if err != nil {
			return api.UserList{}, kinded(err)
		}
		if len(ds) > 0 {
			out = append(out, summarize(user, ds))
		}
	}
	slices.SortFunc(out, func(a, b decision.UserSummary) int { return q.Sort.Compare(&a, &b) })
	return api.UserList{Users: out, Total: len(out)}, nil
}

// scanShare: named users that are at least 1/scanShare of a store's users
// are read from one pass over every summary.
const scanShare = 1024

// summarize folds a user's decisions, newest event time first (as the
// store lists them), into the user's summary.
func summarize(user string, newestFirst []decision.Decision) decision.UserSummary {
	s := decision.UserSummary{UserID: user}
	var first, last, emailAt, ipAt, countryAt int64
	for _, d := range slices.Backward(newestFirst) {
		ev := d.EventTime.UnixNano()
		if s.Count == 0 || ev < first {
			first = ev
		}
		if s.Count == 0 || ev > last {
			last = ev
		}
		s.Count++
		switch d.Action {
		case decision.ActionDeny:
			s.Denies++
		case decision.ActionChallenge:
			s.Challenges++
		}
		if d.Action != decision.ActionError {
			s.MaxRisk = max(s.MaxRisk, d.Risk)
		}
		latestValue(&s.Email, &emailAt, d.Email, ev)
		latestValue(&s.LastIP, &ipAt, d.IP, ev)
		latestValue(&s.LastCountry, &countryAt, d.Country, ev)
	}
	s.FirstSeen, s.LastSeen = time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
	return s
}

// latestValue replaces *v (seen at *at) by a non-empty nv seen at ev
// unless *v is newer.
func latestValue(v *string, at *int64, nv string, ev int64) {
	if nv != "" && (*v == "" || ev >= *at) {
		*v, *at = nv, ev
	}
}
