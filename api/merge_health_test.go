package api

import (
	"strings"
	"testing"
)

// A member whose database file was lost says so in the federation's
// health, named, and pauses the merged pipeline.
func TestMergeHealthKeepsStoreErrors(t *testing.T) {
	ok := Health{Pipeline: PipelineRunning}
	lost := Health{Pipeline: PipelinePaused, PauseReason: "database file lost", StoreError: "it was deleted"}
	h, err := mergeHealth(healthQuery{}, []part[Health]{{member: "http://a", v: ok}, {member: "http://b", v: lost}})
	if err != nil {
		t.Fatal(err)
	}
	if h.StoreError != "http://b: it was deleted" || h.Pipeline != PipelinePaused || !strings.Contains(h.PauseReason, "http://b: database file lost") {
		t.Fatalf("merged %+v", h)
	}
	h, err = mergeHealth(healthQuery{}, []part[Health]{{member: "http://a", v: ok}})
	if err != nil || h.StoreError != "" {
		t.Fatalf("merged %+v, %v", h, err)
	}
}
