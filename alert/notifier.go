package alert

import (
	"context"
	"time"
)

// Notifier delivers notifications. Notify never blocks on delivery: it
// queues (or, for the bell, stores) and returns, so scoring never waits on
// a webhook. Close stops the notifier and waits for its goroutines.
type Notifier interface {
	// Notify hands n to the notifier; after Close it only counts n dropped.
	Notify(n Notification)
	// Health reports the notifier's counters for the Health view.
	Health() Health
	// Close stops accepting notifications, delivers those queued until ctx
	// is done, then abandons the rest (counted in Dropped or Failed) and
	// returns once every goroutine has stopped. It returns an error naming
	// how many notifications were abandoned.
	Close(ctx context.Context) error
}

// Health is a notifier's state for the Health view.
type Health struct {
	// Target is the notifier's target, redacted (Target.Redacted).
	Target string `json:"target"`
	// Queued is how many notifications wait, not counting one in flight.
	Queued int `json:"queued"`
	// Sent counts notifications delivered; Failed those given up on
	// (retries exhausted, a permanent error, or abandoned in flight at
	// Close); Dropped those never attempted because the queue was full
	// (the oldest queued is dropped for the newest), the notifier was
	// closed, or Close abandoned them; Retries counts attempts after the
	// first.
	Sent    uint64 `json:"sent"`
	Failed  uint64 `json:"failed"`
	Dropped uint64 `json:"dropped"`
	Retries uint64 `json:"retries"`
	// LastError is the latest attempt's error and LastErrorAt its time;
	// LastSuccess is the time of the latest delivery.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
}

// Defaults of NotifyOptions.
const (
	DefaultQueueSize      = 256
	DefaultAttemptTimeout = 5 * time.Second
	DefaultRetryFor       = 10 * time.Minute
	DefaultMinBackoff     = 500 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second
	DefaultExecTimeout    = 10 * time.Second
	DefaultBellSize       = 100
)

// NotifyOptions tune the notifiers; zero fields take the defaults.
type NotifyOptions struct {
	// QueueSize bounds each webhook's and exec's queue.
	QueueSize int
	// AttemptTimeout bounds one webhook POST, answer included.
	AttemptTimeout time.Duration
	// RetryFor is how long a webhook notification is retried before it
	// counts as failed and the next one is tried.
	RetryFor time.Duration
	// MinBackoff and MaxBackoff bound the full-jitter backoff: before retry
	// n (from 0) a webhook waits a uniformly random time in
	// [0, min(MaxBackoff, MinBackoff·2ⁿ)), or a Retry-After up to MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// ExecTimeout bounds an exec program's run; then its process group is
	// killed.
	ExecTimeout time.Duration
	// BellSize is how many notifications the bell keeps for dashboards.
	BellSize int
}

func (o NotifyOptions) withDefaults() NotifyOptions {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.BellSize <= 0 {
		o.BellSize = DefaultBellSize
	}
	set(&o.AttemptTimeout, DefaultAttemptTimeout)
	set(&o.RetryFor, DefaultRetryFor)
	set(&o.MinBackoff, DefaultMinBackoff)
	set(&o.MaxBackoff, DefaultMaxBackoff)
	set(&o.ExecTimeout, DefaultExecTimeout)
	return o
}
