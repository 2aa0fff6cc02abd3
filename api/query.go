package api

import (
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// The queries of the Reader methods. Their fields travel as the query
// parameters (query tag) and path values (path tag) of the op that serves
// them (see codec.go for the rules): an absent parameter is the field's
// zero value, or the default its tag names. Windows (From, To) are
// [From, To) in event time; a zero bound is unbounded.

// LatestQuery asks for the newest decisions, in arrival order.
type LatestQuery struct {
	// Filter is in the filter language of SPEC section 5; "" matches all.
	Filter string `query:"filter"`
	// N is how many to return at most.
	N int `query:"n,default=100"`
	// Before, a decision ID, returns those that arrived before it (to page
	// back from the oldest row shown); "" starts at the newest.
	Before string `query:"before"`
	// Brief leaves each decision's raw request and response out (nil):
	// what a list on a screen needs, at a fraction of the cost; Decision
	// reads one decision whole.
	Brief bool `query:"brief"`
}

// decisionQuery is Decision's query: the ID of one decision.
type decisionQuery struct {
	ID string `path:"id"`
}

// RatesQuery asks for the per-minute counts from the minute of From to the
// minute of To; a zero From starts at the first stored minute, a zero To
// ends at the current one.
type RatesQuery struct {
	From time.Time `query:"from"`
	To   time.Time `query:"to"`
}

// StatsQuery asks for the totals of a window, optionally filtered.
type StatsQuery struct {
	From   time.Time `query:"from"`
	To     time.Time `query:"to"`
	Filter string    `query:"filter"`
}

// healthQuery is Health's query: none.
type healthQuery struct{}

// RangeQuery selects a page of decisions.
type RangeQuery struct {
	From    time.Time `query:"from"`
	To      time.Time `query:"to"`
	Reverse bool      `query:"reverse"`
	// Limit bounds the page; <= 0 lets the reader choose.
	Limit int `query:"limit"`
	// Cursor is the Next of the previous page, "" for the first.
	Cursor string `query:"cursor"`
	Filter string `query:"filter"`
	// AsOf sets the decisions' labels to those in force as of it (zero:
	// now).
	AsOf time.Time `query:"as_of"`
}

// JourneyQuery asks for one user's decisions.
type JourneyQuery struct {
	User string `path:"id"`
	// Limit bounds the answer; <= 0 asks for as many as the reader gives.
	Limit int `query:"limit"`
	// Brief leaves each decision's raw request and response out (nil):
	// what a list on a screen needs, at a fraction of the cost; Decision
	// reads one decision whole.
	Brief bool `query:"brief"`
}

// UsersQuery selects and orders user summaries.
type UsersQuery struct {
	Sort decision.UserSort `query:"sort"`
	// Search keeps users whose ID, email or last IP contains it, without
	// regard to case; "" keeps all.
	Search string `query:"search"`
	// IP keeps users with a stored decision from exactly this IP.
	IP string `query:"ip"`
	// Limit caps the answer; <= 0 asks for as many as the reader gives.
	Limit int `query:"limit"`
	// Offset skips the first users of the order: with Limit, a page
	// further down (0 to MaxUserOffset; SearchUsers only).
	Offset int `query:"offset"`
	// Users, when set, asks for these users' summaries alone, those the
	// reader holds, in the order of Sort (SearchUsers only; with Search,
	// IP or Offset it is ErrInvalid).
	Users UserIDs `query:"users"`
}

// HistogramQuery asks for the distribution of one score over a window.
type HistogramQuery struct {
	Score decision.Score `query:"score,required"`
	From  time.Time      `query:"from"`
	To    time.Time      `query:"to"`
}

// WhatIfQuery asks what thresholds would have done over a window.
type WhatIfQuery struct {
	Thresholds decision.Thresholds `query:",inline,required"`
	From       time.Time           `query:"from"`
	To         time.Time           `query:"to"`
}

// FlipsQuery asks for the decisions whose action thresholds would change.
type FlipsQuery struct {
	Thresholds decision.Thresholds `query:",inline,required"`
	From       time.Time           `query:"from"`
	To         time.Time           `query:"to"`
	// Limit bounds the answer; <= 0 lets the reader choose.
	Limit int `query:"limit"`
	// Brief leaves each decision's raw request and response out (nil):
	// what a list on a screen needs, at a fraction of the cost; Decision
	// reads one decision whole.
	Brief bool `query:"brief"`
}

// LinksQuery asks who shares an IP, a network, an email domain or a device
// with a user (SPEC section 14), among the decisions whose event time lies
// within Window before the reader's now.
type LinksQuery struct {
	User   string              `path:"id"`
	Window decision.LinkWindow `query:"window,default=30d"`
	// Cap is the most users a shared value lists before it is a supernode
	// (1 to decision.MaxLinkCap).
	Cap int `query:"cap,default=50"`
	// Depth is 1 (the users linked to User) or 2 (and those linked to them).
	Depth int `query:"depth,default=1"`
	// Values are values of User's that other collectors hold
	// (decision.FormatLinkValues): a federation passes them on so that
	// each member links them too.
	Values string `query:"values"`
}
