package api

// The values of Health.Mode: how a collector scores, or that nothing scores.
const (
	// ModeSafee scores with the Safe-e API.
	ModeSafee = "safe-e"
	// ModeEmulator scores with the offline emulator; the dashboard shows
	// it loudly, since its scores are not Safe-e's.
	ModeEmulator = "EMULATOR"
	// ModeReadOnly is a database opened for reading, with no collector:
	// nothing is scored and no decision arrives live.
	ModeReadOnly = "read-only"
)

// The values of Health.Pipeline.
const (
	// PipelineRunning: events in the inbox are being scored.
	PipelineRunning = "running"
	// PipelinePaused: scoring waits (Health.PauseReason says why, e.g. a
	// refused API key); events are kept.
	PipelinePaused = "paused"
	// PipelineStalled: scored decisions cannot be committed (the store
	// fails writes, e.g. a full disk) and are retried until it recovers;
	// Health.PauseReason says since when and why. Events are kept.
	PipelineStalled = "stalled"
	// PipelineStopped: the pipeline is not running.
	PipelineStopped = "stopped"
)

// The values of Health.Breaker, the circuit breaker in front of Safe-e.
const (
	// BreakerClosed: calls go through.
	BreakerClosed = "closed"
	// BreakerHalfOpen: one trial call goes through after a cool-down.
	BreakerHalfOpen = "half-open"
	// BreakerOpen: calls wait for the cool-down after repeated failures.
	BreakerOpen = "open"
)
