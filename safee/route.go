package safee

import (
	"fmt"
	"strings"
)

// Route names one of Safe-e's two scoring endpoints.
type Route string

// The Safe-e routes. Pre-authentication events (status $attempted or $failed)
// are scored by the filter route, everything else by the risk route.
const (
	RouteRisk   Route = "risk"
	RouteFilter Route = "filter"
)

// maxNameLen bounds an event name in a URL path.
const maxNameLen = 64

// EventName returns the name an event type has in Safe-e's URL paths: the type
// without its leading "$", in lower case ("$profile_update" → "profile_update").
// Only [a-z0-9_] (1 to 64 characters) is accepted, so a hostile type cannot
// add path segments, a query or an escape to the request URL.
func EventName(typ string) (string, error) {
	name := strings.ToLower(strings.TrimPrefix(typ, "$"))
	if name == "" {
		return "", fmt.Errorf("%w: %q has no name", ErrBadType, typ)
	}
	if len(name) > maxNameLen {
		return "", fmt.Errorf("%w: name longer than %d characters", ErrBadType, maxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return "", fmt.Errorf("%w: %q: only letters, digits and _ are allowed after $", ErrBadType, typ)
		}
	}
	return name, nil
}

// RouteFor returns the route that scores an event with the given status.
func RouteFor(status string) Route {
	if strings.EqualFold(status, "$attempted") || strings.EqualFold(status, "$failed") {
		return RouteFilter
	}
	return RouteRisk
}
