package store

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/riskwatch/riskwatch/decision"
)

// labelBatch is how many entries one import of labelLoop records.
const labelBatch = 2000

// labelLoop is the helper process of TestLabelImportCrash: it records
// imports of labelBatch entries, subjects "b<batch>-<i>", printing "rec
// <batch>" after each commit, until it is killed.
func labelLoop(path string) {
	db, err := Open(path, Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	ctx := context.Background()
	for b := 0; ; b++ {
		es := make([]decision.LabelEntry, labelBatch)
		for i := range es {
			es[i] = decision.LabelEntry{Kind: decision.SubjectUser, Subject: fmt.Sprintf("b%d-%d", b, i), Class: decision.LabelFraud,
				Reason: strings.Repeat("r", 100), Source: decision.SourceImport}
		}
		if _, err := db.AppendLabels(ctx, es); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Printf("rec %d\n", b)
	}
}

// A SIGKILL during an import leaves all of each import or none of it.
func TestLabelImportCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a subprocess")
	}
	path := t.TempDir() + "/labels.db"
	for round := range 2 {
		cmd, out := startHelper(t, "labels", path)
		recorded := -1
		for recorded < 2 && out.Scan() {
			line := out.Text()
			if !strings.HasPrefix(line, "rec ") {
				t.Fatalf("helper: %s", line)
			}
			fmt.Sscanf(line, "rec %d", &recorded)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		db, err := Open(path, Options{})
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		es, err := db.LabelEntries(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for i, e := range es {
			if e.Seq != uint64(i+1) {
				t.Fatalf("round %d: entry %d has seq %d", round, i, e.Seq)
			}
			batch, _, _ := strings.Cut(e.Subject, "-")
			counts[batch]++
		}
		for batch, n := range counts {
			if n%labelBatch != 0 {
				t.Fatalf("round %d: import %s left %d of its %d entries", round, batch, n%labelBatch, labelBatch)
			}
		}
		if len(es) < (round+1)*3*labelBatch {
			t.Fatalf("round %d: %d entries, want at least the %d acknowledged", round, len(es), (round+1)*3*labelBatch)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
