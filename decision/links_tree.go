package decision

import "fmt"

// LinkRow is one line of the tree of a Links answer: the user, what it
// shares, who shares it, and under each linked user (depth 2) what that
// user shares with others.
type LinkRow struct {
	// Level is 0 for the user, 1 for a shared value, 2 for a linked user,
	// 3 for a value a linked user shares, 4 for a user it links to.
	Level int
	// Prefix draws the tree before the row ("│  ├─ ").
	Prefix string
	// Link is the link of the row (levels 1 to 4), nil for the user.
	Link *Link
	// User is the linked user of levels 2 and 4.
	User *LinkedUser
	// Parent is the index of the row this one hangs from (-1 for the
	// user).
	Parent int
}

// UserID is the user a row names: the linked user, or for the top row the
// user asked about; "" on a value row.
func (r *LinkRow) UserID(l *Links) string {
	switch {
	case r.User != nil:
		return r.User.UserID
	case r.Level == 0:
		return l.User
	}
	return ""
}

// Tree lays l out as rows, in the order of l.Links: each depth-2 link
// hangs under the first row of its Via user.
func (l *Links) Tree() []LinkRow {
	via := map[string][]int{}
	var top []int
	for i := range l.Links {
		if v := l.Links[i].Via; v != "" {
			via[v] = append(via[v], i)
		} else {
			top = append(top, i)
		}
	}
	rows := []LinkRow{{Level: 0, Parent: -1}}
	done := map[string]bool{}
	var links func(idx []int, level int, indent string, parent int)
	links = func(idx []int, level int, indent string, parent int) {
		for n, i := range idx {
			k := &l.Links[i]
			last := n == len(idx)-1
			at := len(rows)
			rows = append(rows, LinkRow{Level: level, Prefix: indent + branch(last), Link: k, Parent: parent})
			inner := indent + stem(last)
			for m := range k.Users {
				u := &k.Users[m]
				ulast := m == len(k.Users)-1
				uat := len(rows)
				rows = append(rows, LinkRow{Level: level + 1, Prefix: inner + branch(ulast), Link: k, User: u, Parent: at})
				if level == 1 && !done[u.UserID] && len(via[u.UserID]) > 0 {
					done[u.UserID] = true
					links(via[u.UserID], 3, inner+stem(ulast), uat)
				}
			}
		}
	}
	links(top, 1, "", 0)
	return rows
}

func branch(last bool) string {
	if last {
		return "└─ "
	}
	return "├─ "
}

func stem(last bool) string {
	if last {
		return "   "
	}
	return "│  "
}

// Text is the row's words, without the tree: the user, "ip 203.0.113.7  5
// users" for a value, "u42  3 events  max risk 91  1 deny" for a user.
func (r *LinkRow) Text(l *Links) string {
	switch {
	case r.Level == 0:
		return l.User
	case r.User != nil:
		u := r.User
		s := fmt.Sprintf("%s  %s  max risk %g  %s", u.UserID, plural(u.Events, "event", "events"), u.MaxRisk, plural(u.Denies, "deny", "denies"))
		if u.Label != "" {
			s += "  " + u.Label
		}
		return s
	}
	k := r.Link
	s := k.Kind.String() + " " + k.Value + "  "
	switch {
	case k.Supernode && k.CountAtLeast:
		s += fmt.Sprintf("supernode: over %d users, not listed", k.Count)
	case k.Supernode:
		s += fmt.Sprintf("supernode: %d users, not listed", k.Count)
	default:
		s += plural(k.Count, "user", "users")
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
