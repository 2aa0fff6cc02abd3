package emulator

import (
	"encoding/json"
	"maps"
	"net/http"
)

// StatusClientGone is the status Stats records for a request whose client
// went away before the answer (nginx's 499 convention); nothing is written.
const StatusClientGone = 499

// response is the body of a 200, shaped exactly like Safe-e's, plus
// ip_country, the country the emulator placed the address in.
type response struct {
	Risk            int      `json:"risk"`
	AccountAbuse    int      `json:"account_abuse"`
	AccountTakeover int      `json:"account_takeover"`
	Bot             int      `json:"bot"`
	Signals         []string `json:"signals"`
	Policy          policy   `json:"policy"`
	IPCountry       string   `json:"ip_country"`
}

type policy struct {
	Name   string `json:"name"`
	Action string `json:"action"`
}

// errorBody is the body of every JSON error the emulator sends.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func answer(v verdict) response {
	return response{
		Risk:            v.scores.risk,
		AccountAbuse:    v.scores.abuse,
		AccountTakeover: v.scores.ato,
		Bot:             v.scores.bot,
		Signals:         v.signals.names(),
		Policy:          policy{Name: PolicyName, Action: v.action},
		IPCountry:       v.country,
	}
}

// reply writes a JSON body with status and records the status.
func (e *Emulator) reply(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		// Only the fixed types above are marshalled; none can fail.
		status = http.StatusInternalServerError
		b = []byte(`{"error":"internal_error","message":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	e.record(status)
}

// fail writes a JSON error.
func (e *Emulator) fail(w http.ResponseWriter, status int, code, message string) {
	e.reply(w, status, errorBody{Error: code, Message: message})
}

// Stats counts what an Emulator has answered.
type Stats struct {
	// Requests counts every request received, answered or not yet.
	Requests uint64
	// ByStatus counts answers by HTTP status; StatusClientGone counts
	// requests abandoned during the injected latency.
	ByStatus map[int]uint64
}

// Stats returns a copy of the counters.
func (e *Emulator) Stats() Stats {
	e.statsMu.Lock()
	defer e.statsMu.Unlock()
	return Stats{Requests: e.requests, ByStatus: maps.Clone(e.byStatus)}
}

func (e *Emulator) countRequest() {
	e.statsMu.Lock()
	e.requests++
	e.statsMu.Unlock()
}

func (e *Emulator) record(status int) {
	e.statsMu.Lock()
	e.byStatus[status]++
	e.statsMu.Unlock()
}
