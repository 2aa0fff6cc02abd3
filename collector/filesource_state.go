package collector

// fileState is where a FileSource's tailer stands. The transitions:
//
//	starting, waiting-for-file, error ── the path opens ───► opened ─► reading
//	  (or, when the checkpointed file is found renamed beside it ─► draining it)
//	reading ── end of the file ───────────────────────────► at-eof
//	at-eof ── the file grew ──────────────────────────────► reading
//	reading, at-eof ── it shrank or was rewritten in place ► reading from 0
//	  (checked before every batch, so also when a pause ends)
//	at-eof ── the path (or the symlink it is) names another file, or it was deleted ► draining
//	draining ── unchanged for RotateWait ───► opened (the new file) or waiting-for-file
//	reading, draining ── inbox at its limit ──────────────► paused ─► back
//	any ── the file cannot be read ───────────────────────► error (reopened next poll)
//
// A failing store commit also shows as error, until a retry succeeds;
// stopped is after Run returned. The HTTP source reports starting and
// stopped by the same names.
type fileState int

const (
	// stateStarting: Run has not begun.
	stateStarting fileState = iota
	// stateWaiting: the path does not exist (yet); polled until it does.
	stateWaiting
	// stateOpened: the file is open and its start offset being chosen
	// (checkpoint, start or end).
	stateOpened
	// stateReading: complete lines are being read and committed in batches.
	stateReading
	// stateAtEOF: all complete lines are stored; polling for growth,
	// truncation and rotation.
	stateAtEOF
	// stateDraining: the path now names another file (or none, the old one
	// deleted); the old file is read to its end until it has stayed
	// unchanged for RotateWait, then the new one is read from its start.
	stateDraining
	// statePaused: the inbox is at its limit; reading waits for it to fall.
	statePaused
	// stateError: the last attempt to open, read or commit failed.
	stateError
	// stateStopped: Run returned.
	stateStopped
)

var fileStateNames = [...]string{
	stateStarting: "starting",
	stateWaiting:  "waiting-for-file",
	stateOpened:   "opened",
	stateReading:  "reading",
	stateAtEOF:    "at-eof",
	stateDraining: "draining",
	statePaused:   "paused",
	stateError:    "error",
	stateStopped:  "stopped",
}

// String returns the state's name as shown in Stats.
func (s fileState) String() string {
	if s >= 0 && int(s) < len(fileStateNames) {
		return fileStateNames[s]
	}
	return "unknown"
}
