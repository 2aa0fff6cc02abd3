// Package emulator is an offline Safe-e for demos and tests, and the
// synthetic traffic that feeds it.
//
// # The emulator
//
// An *Emulator is an http.Handler with Safe-e's two routes,
// POST /risk/{event} and POST /filter/{event}, its Authorization-API
// header, and its response shape:
//
//	{"risk":61,"account_abuse":2,"account_takeover":80,"bot":1,
//	 "signals":["new_device","new_ip","new_country","impossible_travel"],
//	 "policy":{"name":"default","action":"Challenge"},"ip_country":"BR"}
//
// ip_country is the emulator's own addition: the country it placed the
// address in. Mount it where a Safe-e base URL points with Handler:
//
//	mux.Handle("/api/v1/", emu.Handler("/api/v1")) // base URL http://host/api/v1
//
// Errors are JSON {"error": code, "message": text}: 401 without the key
// (compared in constant time), 404 for another path, 405 for another method
// (with Allow: POST), 413 over the body limit, 400 for a body that is not a
// UTF-8 JSON object, 422 for an object that is not an event of the route's
// type ("type" must be "$"+{event}; "user.user_id" is required, on the
// filter route "user.user_email" will do; "user.user_ip", if present, must
// be an address). Other fields are accepted and ignored.
//
// # Scoring
//
// Scores come from what a risk engine looks at, kept per user, per address
// and per device (user agent on an address), in event time: the event's
// RFC 3339 "timestamp" if it has one, else Options.Now.
//
//	new_device, new_ip, new_country   not among the user's learned ones
//	                                  (a user with none has no baseline: no
//	                                  such signal on a first event)
//	impossible_travel                 another country within 2 h of the last allowed success
//	datacenter_ip, proxy_ip, tor_ip   the address's kind in the Geo table
//	credential_stuffing               8+ distinct users logging in from the address in 10 min
//	bot_behavior                      a headless or scripted user agent (or an empty one)
//	generated_email, disposable_email a made-up local part; a throwaway provider
//	high_activity_account             10+ events of the user in 10 min
//	multiple_accounts_per_device      3+ accounts on one agent and address in 24 h
//
// Three or more failed logins of a user in 15 minutes raise its
// account-takeover score without a signal of its own. A user's devices,
// addresses and countries are learned only from successes the policy
// allowed, so an attacker who was challenged stays "new" for the rest of
// the session. Until a user has one such success there is nothing to
// compare with, and new_device, new_ip, new_country and impossible_travel
// are not reported at all: a first login, however unusual, is not "new". Each signal adds weight to some of the four scores, combined
// like independent probabilities, plus a few points of noise derived from
// the seed and the request body.
//
// The policy, named PolicyName, is a list of rules as a customer's Safe-e
// policy would be, not a threshold: a tor exit, credential stuffing from a
// datacenter, proxy or script, a scripted signup with a made-up or throwaway
// address, a profile change or transaction from a new device in a new
// country, and card testing are denied whatever the risk (so a Deny at risk
// 30 happens); otherwise risk 80 and up is denied and risk 50 and up, or an
// ATO, bot or abuse score of 60 and up, is challenged.
//
// State is bounded: each table holds at most Options.MaxEntries entries
// (DefaultMaxEntries), forgetting the least recently used.
//
// # Determinism and faults
//
// For the same Seed, the same requests sent one at a time get byte-identical
// answers. Fault injection (Options.Latency, ErrorRate, ThrottleRate,
// TimeoutRate) is drawn from its own seeded source and applied to valid
// requests only, before scoring, so a faulted request changes no state and
// its retry is answered as the first try would have been. A 502 is an HTML
// gateway page, as real load balancers send. Injected latency and stalls
// end when the request's context does: serve the emulator from an
// http.Server whose BaseContext is cancelled on shutdown, and a stall of
// TimeoutDelay never holds Shutdown up.
//
// # Synthetic traffic
//
// A Generator writes Safe-e events (the body of SPEC section 1 plus
// event_id, timestamp and, for transactions, transaction{amount, currency})
// for one of Scenarios. Its addresses come from the same Geo table, so the
// emulator places every event where the generator meant it. Generate
// writes NDJSON; Post sends it to a collector's POST /v1/events; RunDemo
// paces the "mixed" scenario in real time for `riskwatch demo`.
//
// The world is a function of the seed alone: a stable population of 10,000
// existing customers (IDs u100001 to u110000) with their own emails, homes,
// usual devices and addresses; and the attackers, each with their own kit:
// a stuffing crew with six datacenter servers and a leaked list of 400
// accounts (240 of them real customers), a takeover crew with two devices,
// a home country and open proxies, a bot farm on datacenter, proxy and tor
// addresses running scripts, and a card-testing crew. The same seed is the
// same people and the same attackers in every run.
//
// The traffic is a function of the seed and of absolute time. Background:
// each second's visits (a login, now and then after a mistyped password,
// zero to three purchases or profile changes, often a logout; a few from a
// second device, a VPN or abroad; 2% are newcomers registering) come from
// a random stream keyed by that Unix second. Incidents: time is cut into
// slots of the scenario's period since the Unix epoch (four minutes for
// "mixed"); slot k holds one incident, its kind rotating with k, starting
// in the first half of the slot and drawn from a stream keyed by k.
// Incidents scale with the background rate; in "mixed" they are:
//
//	credential stuffing  (80-200)x logins in under a minute from the crew's
//	                     servers over its leaked list; 1 in 10 tries on a
//	                     real account gets in
//	account takeover     (3-5)x customers: their own login, then the crew's
//	                     failed logins, success, profile change and large
//	                     transaction, under the victim's own ID and email
//	bot signups          the farm registers (20-60)x accounts and brings
//	                     back half of its previous incident's to log in
//	card testing         the crew registers 2 accounts and, with them and
//	                     its previous incident's 2, makes (40-70)x small
//	                     transactions
//
// So the events of any window are the same whatever time a generator
// started from; an event's ID ("gen-<seed>-<digest of scenario and
// rate>-s<second>-<n>" or "...-i<slot>-<n>") names its place in that
// traffic and is the same in every run; an account the traffic creates is
// registered exactly once on it. A run that starts where another stopped
// (a demo restarted on the same database, a demo after `gen --span`)
// continues the same users and attackers, and one that overlaps an earlier
// run repeats its events with their IDs, which the store keeps once.
package emulator
