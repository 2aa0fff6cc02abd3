package live

import (
	"context"
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
)

// Bounds of F and N, which label every user of the decisions matching
// the filter.
const (
	// MaxBulkUsers is the most users one F or N labels.
	MaxBulkUsers = 10_000
	// maxBulkScan bounds the decisions read to find them.
	maxBulkScan = 500_000
)

// filterUsers are the distinct users of the decisions matching a filter.
type filterUsers struct {
	fraud  bool
	filter string
	users  []string
	// more is set when the scan stopped at a bound: there are more.
	more bool
}

// loadFilterUsers reads the users F (fraud) or N would label: those of
// every decision matching the filter, which must not be empty.
func (m *Model) loadFilterUsers(fraud bool) tea.Cmd {
	if m.filterExpr == "" {
		return common.Status("F and N label the users matching a filter: set one with / first", common.LevelWarn)
	}
	expr := m.filterExpr
	data := m.c.Data
	return m.usersReq.Go(m.c, func(ctx context.Context) (filterUsers, error) {
		out := filterUsers{fraud: fraud, filter: expr}
		seen := map[string]bool{}
		q := api.RangeQuery{Filter: expr, Limit: 1000}
		for scanned := 0; ; {
			p, err := data.Range(ctx, q)
			if err != nil {
				return out, err
			}
			for i := range p.Decisions {
				if u := p.Decisions[i].UserID; u != "" && !seen[u] {
					if len(out.users) == MaxBulkUsers {
						out.more = true
						return out, nil
					}
					seen[u] = true
					out.users = append(out.users, u)
				}
			}
			scanned += len(p.Decisions)
			if p.Next == "" {
				return out, nil
			}
			if scanned >= maxBulkScan {
				out.more = true
				return out, nil
			}
			q.Cursor = p.Next
		}
	})
}

// onFilterUsers shows the count in the reason prompt, which labels them
// on enter.
func (m *Model) onFilterUsers(msg common.Answer[filterUsers]) tea.Cmd {
	if msg.Err != nil {
		return common.Status("label: "+common.Sanitize(msg.Err.Error()), common.LevelError)
	}
	fu := msg.Value
	if len(fu.users) == 0 {
		return common.Status("no user matches "+common.Sanitize(fu.filter), common.LevelWarn)
	}
	class := decision.LabelLegit
	if fu.fraud {
		class = decision.LabelFraud
	}
	inputs := make([]api.LabelInput, len(fu.users))
	for i, u := range fu.users {
		inputs[i] = api.LabelInput{Kind: decision.SubjectUser, Subject: u, Class: class}
	}
	more := ""
	if fu.more {
		more = " (the first found; more match)"
	}
	m.prompt.Open(fmt.Sprintf("%d users matching %s%s %s", len(fu.users), fu.filter, more, class), inputs)
	m.layout()
	return nil
}
