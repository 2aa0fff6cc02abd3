package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/riskwatch/riskwatch/safee"
)

// kafkaHealth is the part of /healthz this test reads.
type kafkaHealth struct {
	Decisions uint64 `json:"decisions"`
	Inbox     uint64 `json:"inbox"`
	Rejected  uint64 `json:"rejected"`
	Sources   []struct {
		Name       string `json:"name"`
		LinesRead  uint64 `json:"lines_read"`
		Partitions []struct {
			Partition     int32 `json:"partition"`
			Offset        int64 `json:"offset"`
			HighWatermark int64 `json:"high_watermark"`
			Lag           int64 `json:"lag"`
		} `json:"partitions"`
	} `json:"sources"`
}

func getKafkaHealth(addr string) (kafkaHealth, error) {
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		return kafkaHealth{}, err
	}
	defer resp.Body.Close()
	var h kafkaHealth
	return h, json.NewDecoder(resp.Body).Decode(&h)
}

// TestKafkaCrashRestartExactlyOnce kills the collector with SIGKILL five
// times while events are produced to a topic of an in-process Kafka
// cluster, restarting it each time, and checks that in the end every event
// is stored exactly once, with every partition's lag at 0 in /healthz and
// /metrics.
func TestKafkaCrashRestartExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	// The first killed records are produced while collectors get killed,
	// the rest once the last one runs.
	const total, killed, chunks, partitions = 6000, 5500, 5, 4
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, "events"),
		kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()

	dir := t.TempDir()
	db := filepath.Join(dir, "rw.db")
	env := []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "SAFEE_API_KEY=crash-test-key"}
	// The table gives what only the file can (static membership, so that a
	// restarted collector takes its partitions back at once); the flags
	// point it at the cluster.
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "[[kafka]]\nbrokers = [%q]\ntopic = \"events\"\ngroup = \"from-file\"\ninstance_id = \"collector-1\"\nsession_timeout = \"3s\"\n", "127.0.0.1:1"), 0o600); err != nil {
		t.Fatal(err)
	}

	emu := start(t, env, "emulator", "--listen", "127.0.0.1:0", "--key", "crash-test-key", "--seed", "1")
	url := emu.await(t, reEmulatorURL, 10*time.Second)
	gen := exec.Command(buildBinary(t), "gen", "--count", fmt.Sprint(total), "--seed", "43", "--out", filepath.Join(dir, "all.ndjson"))
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("gen: %v\n%s", err, out)
	}
	all, err := os.ReadFile(filepath.Join(dir, "all.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(all), "\n"), "\n")
	if len(lines) != total {
		t.Fatalf("gen wrote %d lines", len(lines))
	}
	records := make([]*kgo.Record, total)
	ids := make([]string, total)
	for i, l := range lines {
		ev, err := safee.ParseEvent([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		records[i] = &kgo.Record{Topic: "events", Key: []byte(ev.UserID), Value: []byte(l)}
		ids[i] = ev.EventID
	}
	producer, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()

	collect := func() (*proc, string) {
		p := start(t, env, "collect", "--config", cfg, "--db", db, "--safee-url", url, "--listen", "127.0.0.1:0",
			"--kafka-brokers", strings.Join(brokers, ","), "--kafka-topic", "events", "--kafka-group", "crash")
		return p, p.await(t, reListen, 10*time.Second)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	for c := range chunks {
		p, addr := collect()
		// Produce the chunk in small batches while the collector reads;
		// once it has stored some, kill it at a random moment.
		produced := make(chan error, 1)
		go func() {
			chunk := records[c*killed/chunks : (c+1)*killed/chunks]
			for len(chunk) > 0 {
				n := min(len(chunk), 1+rng.IntN(400))
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				err := producer.ProduceSync(ctx, chunk[:n]...).FirstErr()
				cancel()
				if err != nil {
					produced <- err
					return
				}
				chunk = chunk[n:]
			}
			produced <- nil
		}()
		waitRead(t, addr)
		// A random moment to kill it: the point of the test, not a wait.
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-p.done
		_ = p.cmd.Wait()
		if err := <-produced; err != nil {
			t.Fatalf("produce: %v", err)
		}
	}

	p, addr := collect()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	err = producer.ProduceSync(ctx, records[killed:]...).FirstErr()
	cancel()
	if err != nil {
		t.Fatalf("produce: %v", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	var h kafkaHealth
	for {
		h, err = getKafkaHealth(addr)
		if err == nil && h.Decisions >= total && h.Inbox == 0 && lagsZero(h, partitions) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d kills: health %+v (err %v), want %d decisions, an empty inbox, %d partitions without lag", chunks, h, err, total, partitions)
		}
		time.Sleep(50 * time.Millisecond)
	}
	metrics := get(t, "http://"+addr+"/metrics")
	if !strings.Contains(metrics, `riskwatch_kafka_lag_records{partition="0",source="kafka:events"} 0`) {
		t.Errorf("/metrics has no lag of partition 0:\n%s", grepLines(metrics, "kafka"))
	}
	// The last collector started at the offsets its killed predecessor
	// stored: it read no record twice (the store would have skipped it by
	// event ID, but the source must not even read it).
	if !strings.Contains(metrics, `riskwatch_events_duplicate_total{source="kafka:events"} 0`) {
		t.Errorf("records read again after a restart:\n%s", grepLines(metrics, "duplicate"))
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.done
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("collect after SIGTERM: %v", err)
	}

	out, err := exec.Command(buildBinary(t), "export", "--db", db).Output()
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	seen := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r struct {
			EventID string `json:"event_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		seen[r.EventID]++
	}
	for i, id := range ids {
		if seen[id] != 1 {
			t.Errorf("record %d (event %s) stored %d times", i, id, seen[id])
		}
	}
	if len(seen) != total || h.Rejected != 0 {
		t.Errorf("export has %d events and %d rejected, want %d and none", len(seen), h.Rejected, total)
	}
	t.Logf("%d records stored exactly once across %d SIGKILLs", total, chunks)
}

// waitRead waits until the collector at addr has read records from Kafka.
func waitRead(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		h, err := getKafkaHealth(addr)
		for _, s := range h.Sources {
			if s.Name == "kafka:events" && s.LinesRead > 0 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the collector read nothing from Kafka: %+v, %v", h, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lagsZero reports whether the Kafka source holds every partition, each
// read to its high watermark.
func lagsZero(h kafkaHealth, partitions int) bool {
	for _, s := range h.Sources {
		if s.Name != "kafka:events" {
			continue
		}
		if len(s.Partitions) != partitions {
			return false
		}
		for _, p := range s.Partitions {
			if p.Lag != 0 || p.HighWatermark < 0 {
				return false
			}
		}
		return true
	}
	return false
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func grepLines(s, sub string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
