package alert

import (
	"context"
	"sync"
	"time"
)

// BellMessage is a notification for dashboards. A dashboard rings the
// terminal bell (BEL) for it and shows a desktop notification with Title
// and Body (OSC 9 "Body", or OSC 777 "notify;Title;Body"; wrapped in tmux's
// passthrough inside tmux).
type BellMessage struct {
	// Seq numbers messages from 1 in the order they were rung.
	Seq   uint64    `json:"seq"`
	Alert string    `json:"alert"`
	State string    `json:"state"`
	At    time.Time `json:"at"`
	// Title is "riskwatch: ALERT firing" (or resolved); Body is the
	// notification's Text.
	Title string `json:"title"`
	Body  string `json:"body"`
}

// Bell keeps the latest notifications of the rules that list "bell" for
// dashboards to ring, local or remote (the API serves Since). It holds the
// last BellSize messages; Notify never blocks.
type Bell struct {
	mu     sync.Mutex
	size   int
	msgs   []BellMessage // oldest first, at most size
	seq    uint64
	health Health
}

// NewBell returns a bell that keeps the last size messages (BellSize when
// size <= 0).
func NewBell(size int) *Bell {
	if size <= 0 {
		size = DefaultBellSize
	}
	return &Bell{size: size, health: Health{Target: string(TargetBell)}}
}

// Notify stores n as the next message, dropping the oldest when full.
func (b *Bell) Notify(n Notification) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	if len(b.msgs) == b.size {
		b.msgs = append(b.msgs[:0], b.msgs[1:]...)
		b.health.Dropped++
	}
	b.msgs = append(b.msgs, BellMessage{
		Seq: b.seq, Alert: n.Alert, State: n.State, At: n.At,
		Title: "riskwatch: " + n.Alert + " " + n.State, Body: n.Text(),
	})
	b.health.Sent++
	b.health.LastSuccess = time.Now()
}

// Since returns the messages kept with a Seq above seq, oldest first: a
// dashboard passes the last Seq it rang (0 at first) and rings what comes
// back. A gap between seq and the first Seq returned means messages were
// dropped before it asked.
func (b *Bell) Since(seq uint64) []BellMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, m := range b.msgs {
		if m.Seq > seq {
			return append([]BellMessage(nil), b.msgs[i:]...)
		}
	}
	return nil
}

// Health reports the messages stored (Sent) and those pushed out of the
// ring by newer ones (Dropped), which a dashboard polling less often than
// BellSize notifications misses.
func (b *Bell) Health() Health {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.health
}

// Close does nothing: the bell has no goroutine.
func (b *Bell) Close(context.Context) error { return nil }
