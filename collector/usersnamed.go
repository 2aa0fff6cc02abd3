package collector

import (
	"context"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/store"
)

// namedUsers answers a SearchUsers that names its users (q.Users): the
// summary of each named user the store holds, in q.Sort's order, each read
// by its key (store.UsersQuery.Users).
func (r *Reader) namedUsers(ctx context.Context, q api.UsersQuery) (api.UserList, error) {
	p, err := r.db.UserPage(ctx, store.UsersQuery{Sort: q.Sort, Users: q.Users})
	if err != nil {
		return api.UserList{}, kinded(err)
	}
	return api.UserList{Users: p.Users, Total: len(p.Users)}, nil
}
