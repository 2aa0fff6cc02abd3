package main

import (
	"fmt"
	"os"

	"github.com/riskwatch/riskwatch/alert"
)

// readAlerts reads a standalone alerts file (--alerts FILE).
func readAlerts(path string) ([]alert.Rule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--alerts: %w", err)
	}
	return alert.ParseFile(path, data)
}
