package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/riskwatch/riskwatch/safee/emulator"
)

// emulatorServer is an offline Safe-e served over HTTP, for `riskwatch
// emulator` and for the collector's --emulator mode.
type emulatorServer struct {
	url    string // the Safe-e base URL, ending in /api/v1
	srv    *http.Server
	done   chan error // Serve's result
	cancel func()     // ends requests the emulator is stalling on purpose
}

// serveEmulator listens on addr and serves the emulator until stop.
func serveEmulator(ctx context.Context, addr string, opts emulator.Options) (*emulatorServer, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("emulator: listen on %s: %w", addr, err)
	}
	base, cancel := context.WithCancel(context.Background())
	e := &emulatorServer{
		url: "http://" + ln.Addr().String() + "/api/v1",
		srv: &http.Server{
			Handler:           emulator.New(opts).Handler("/api/v1"),
			ReadHeaderTimeout: 5 * time.Second,
			// Injected timeouts stall until their request ends; tie them to
			// the server so Shutdown is not held up by them.
			BaseContext: func(net.Listener) context.Context { return base },
		},
		done:   make(chan error, 1),
		cancel: cancel,
	}
	go func() { e.done <- e.srv.Serve(ln) }()
	return e, nil
}

// stop shuts the server down and waits for it.
func (e *emulatorServer) stop() error {
	e.cancel()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := e.srv.Shutdown(sctx)
	<-e.done
	if err != nil {
		return fmt.Errorf("emulator: shut down: %w", err)
	}
	return nil
}
