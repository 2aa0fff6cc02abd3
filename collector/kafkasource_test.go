package collector

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"maps"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/riskwatch/riskwatch/config"
)

// TestKafkaSourcePoisonRecord stores every event of a topic once and
// rejects the records that are not events with their position, without
// holding up the rest of their partition.
func TestKafkaSourcePoisonRecord(t *testing.T) {
	c := newKfake(t, 3)
	values, keys, ids := kafkaEvents(t, 1, 300)
	poison := [][]byte{[]byte("not json"), []byte(`{"user":{"user_id":"u1"}}`), bytes.Repeat([]byte("x"), 2048), nil}
	// The poison shares the key, so the partition, of the first event and
	// sits between events.
	var vs [][]byte
	var ks []string
	next := 0
	for i := range values {
		if i%100 == 50 || i == 299 {
			vs, ks = append(vs, poison[next]), append(ks, keys[0])
			next++
		}
		vs, ks = append(vs, values[i]), append(ks, keys[i])
	}
	produce(t, c.ListenAddrs(), vs, ks)
	db := newTailStore(t)
	r := startKafka(t, db, c.ListenAddrs(), "g", func(o *KafkaOptions) { o.MaxRecord = 1024 })
	waitUntil(t, "every record committed", func() bool { return r.read() == uint64(len(vs)) })

	got := inboxIDs(t, db)
	slices.Sort(got)
	want := slices.Clone(ids)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("inbox has %d events, want the %d produced", len(got), len(want))
	}
	rej, err := db.RecentRejected(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rej) != 4 {
		t.Fatalf("rejected %d records, want 4: %+v", len(rej), rej)
	}
	reasons := map[string]string{}
	for _, rj := range rej {
		if rj.Source != "kafka:"+kafkaTopic || !strings.HasPrefix(rj.Position, kafkaTopic+"/") || !strings.Contains(rj.Position, "@") {
			t.Errorf("rejected record at %s %q, want source kafka:%s and position %s/PARTITION@OFFSET", rj.Source, rj.Position, kafkaTopic, kafkaTopic)
		}
		reasons[string(rj.Head[:min(len(rj.Head), 8)])] = rj.Reason
	}
	for head, want := range map[string]string{"not json": "JSON", `{"user":`: "type", "xxxxxxxx": "2048 bytes", "": "JSON"} {
		if !strings.Contains(reasons[head], want) {
			t.Errorf("record %q rejected for %q, want a reason naming %q", head, reasons[head], want)
		}
	}
	for class, n := range map[string]float64{"not_json": 2, "missing_type": 1, "too_long": 1} {
		if got := testutil.ToFloat64(r.metrics.EventsRejected.WithLabelValues(r.Name(), class)); got != n {
			t.Errorf("rejected %s = %v, want %v", class, got, n)
		}
	}
	st := r.Stats()
	if st.Rejected != 4 || len(st.Partitions) != 3 {
		t.Errorf("stats %+v, want 4 rejected and 3 partitions", st)
	}
	var stored int64
	for _, p := range st.Partitions {
		if p.Lag != 0 || p.Offset != p.HighWatermark {
			t.Errorf("partition %+v: want no lag after reading everything", p)
		}
		stored += p.Offset
	}
	cps := kafkaCheckpoints(t, db, 3)
	var sum int64
	for _, off := range cps {
		sum += off
	}
	if stored != int64(len(vs)) || sum != stored {
		t.Errorf("offsets in stats add up to %d, checkpoints %v to %d, want %d", stored, cps, sum, len(vs))
	}
	// The offsets are committed to Kafka too, for the usual lag tools.
	waitUntil(t, "the stored offsets committed to Kafka", func() bool {
		return maps.Equal(committedOffsets(t, c.ListenAddrs(), "g"), cps)
	})
	if lag := testutil.ToFloat64(r.metrics.KafkaLag.WithLabelValues(r.Name(), "0")); lag != 0 {
		t.Errorf("lag metric of partition 0 = %v, want 0", lag)
	}
}

// TestKafkaSourceResumesFromStoredOffsets restarts a source in a new group
// (no offsets committed in Kafka): it starts at its stored checkpoints and
// reads nothing twice.
func TestKafkaSourceResumesFromStoredOffsets(t *testing.T) {
	c := newKfake(t, 2)
	values, keys, _ := kafkaEvents(t, 2, 200)
	produce(t, c.ListenAddrs(), values[:120], keys[:120])
	db := newTailStore(t)
	r := startKafka(t, db, c.ListenAddrs(), "first", nil)
	waitUntil(t, "the first 120 records", func() bool { return r.read() == 120 })
	r.stop()

	produce(t, c.ListenAddrs(), values[120:], keys[120:])
	r2 := startKafka(t, db, c.ListenAddrs(), "second", nil)
	waitUntil(t, "the last 80 records", func() bool { return r2.read() == 80 })
	if d := r2.duplicates(); d != 0 {
		t.Errorf("%v records read again after the checkpoint", d)
	}
	if n := len(inboxIDs(t, db)); n != 200 {
		t.Errorf("inbox holds %d events, want 200", n)
	}
}

// TestParseKafkaRecord checks the ID, bytes and errors of records.
func TestParseKafkaRecord(t *testing.T) {
	for _, tc := range []struct {
		value, id, err string
	}{
		{`{"type":"$login","event_id":"e1"}`, "e1", ""},
		{`{"type":"$login"}`, "kafka:t/3@17", ""},
		{`{"type":"$login"}` + "\n", "kafka:t/3@17", ""},
		{``, "", "JSON"},
		{`[1]`, "", "object"},
		{`{"type":"$login","event_id":"` + strings.Repeat("a", 300) + `"}`, "", "event_id"},
		{strings.Repeat(" ", 700), "", "over the 512-byte limit"},
	} {
		id, ev, err := parseKafkaRecord("t", 3, 17, []byte(tc.value), 512)
		raw := ev.Raw
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%.20q: err %v, want one naming %q", tc.value, err, tc.err)
		case tc.err == "" && (err != nil || id != tc.id || string(raw) != tc.value):
			t.Errorf("%.20q: id %q raw %q err %v, want id %q", tc.value, id, raw, err, tc.id)
		}
	}
}

// FuzzParseKafkaRecord: any value is either an event with an ID or a
// rejection, never a panic.
func FuzzParseKafkaRecord(f *testing.F) {
	for _, s := range []string{`{"type":"$login"}`, `{"type":"$login","event_id":7}`, "\xff", "{", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		id, ev, err := parseKafkaRecord("t", 0, 1, v, 1<<10)
		raw := ev.Raw
		if err == nil && (id == "" || len(raw) != len(v)) {
			t.Fatalf("accepted %q with id %q raw %q", v, id, raw)
		}
		if err != nil && (id != "" || raw != nil) {
			t.Fatalf("rejected %q (%v) but returned id %q", v, err, id)
		}
	})
}

// TestKafkaSourceRebalance runs a second collector into the group while
// the first one reads: the partitions it takes over are handed on at the
// offset the first stored, so each store ends with a disjoint share and
// together they hold every record once.
func TestKafkaSourceRebalance(t *testing.T) {
	c := newKfake(t, 4)
	values, keys, ids := kafkaEvents(t, 3, 2000)
	produce(t, c.ListenAddrs(), values[:1000], keys[:1000])
	a := startKafka(t, newTailStore(t), c.ListenAddrs(), "g", nil)
	waitUntil(t, "the first collector reading", func() bool { return a.read() > 0 })

	// Records keep coming while the group rebalances, and after.
	b := startKafka(t, newTailStore(t), c.ListenAddrs(), "g", nil)
	producing := make(chan struct{})
	go func() {
		defer close(producing)
		for i := 1000; i < 1500; i += 50 {
			produce(t, c.ListenAddrs(), values[i:i+50], keys[i:i+50])
		}
	}()
	waitUntil(t, "the partitions shared", func() bool {
		return len(a.Stats().Partitions) > 0 && len(b.Stats().Partitions) > 0 &&
			len(a.Stats().Partitions)+len(b.Stats().Partitions) == 4
	})
	<-producing
	produce(t, c.ListenAddrs(), values[1500:], keys[1500:])
	waitUntil(t, "every record read", func() bool { return a.read()+b.read() >= uint64(len(values)) })

	inA, inB := inboxIDs(t, a.db), inboxIDs(t, b.db)
	seen := map[string]int{}
	for _, id := range append(slices.Clone(inA), inB...) {
		seen[id]++
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("event %s stored %d times across the two collectors", id, seen[id])
		}
	}
	if len(inA) == 0 || len(inB) == 0 || len(inA)+len(inB) != len(ids) {
		t.Errorf("shares %d + %d, want two non-empty shares of %d", len(inA), len(inB), len(ids))
	}
	if a.duplicates() != 0 || b.duplicates() != 0 {
		t.Errorf("records read again: %v by the first, %v by the second", a.duplicates(), b.duplicates())
	}
	t.Logf("shares: %d and %d of %d; partitions %v and %v", len(inA), len(inB), len(ids), a.Stats().Partitions, b.Stats().Partitions)
}

// TestKafkaSourceBrokerOutage stops the cluster under a reading source and
// starts it again from its data on the same port: the source shows the
// broker unreachable meanwhile, then reads on where it stopped, storing
// every record once.
func TestKafkaSourceBrokerOutage(t *testing.T) {
	dir := t.TempDir()
	c := newKfake(t, 2, kfake.DataDir(dir))
	addr := c.ListenAddrs()[0]
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	values, keys, ids := kafkaEvents(t, 4, 600)
	produce(t, c.ListenAddrs(), values[:300], keys[:300])
	r := startKafka(t, newTailStore(t), []string{addr}, "g", nil)
	waitUntil(t, "the records before the outage", func() bool { return r.read() == 300 })

	c.Close()
	waitUntil(t, "the broker shown unreachable", func() bool { return r.Stats().State == kafkaUnreachable })
	p, _ := strconv.Atoi(port)
	c2 := newKfake(t, 2, kfake.DataDir(dir), kfake.Ports(p))
	produce(t, c2.ListenAddrs(), values[300:], keys[300:])
	waitUntil(t, "the records after the outage", func() bool { return r.read() >= 600 })
	waitUntil(t, "the source reading again", func() bool { return r.Stats().State == kafkaReading })

	got := inboxIDs(t, r.db)
	slices.Sort(got)
	want := slices.Clone(ids)
	slices.Sort(want)
	if !slices.Equal(got, want) || r.duplicates() != 0 {
		t.Errorf("inbox has %d events (%v read twice), want the %d produced once", len(got), r.duplicates(), len(want))
	}
	r.stop()
}

// TestKafkaSourceSASL reads from a cluster that requires SCRAM, with the
// options built from a [[kafka]] table.
func TestKafkaSourceSASL(t *testing.T) {
	c := newKfake(t, 1, kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "rw", "kafka-pass"))
	values, keys, _ := kafkaEvents(t, 5, 50)
	o, err := KafkaFromConfig(config.Kafka{Brokers: c.ListenAddrs(), Topic: kafkaTopic, Group: "g",
		SASLMechanism: "scram-sha-512", SASLUser: "rw", SASLPassword: "kafka-pass"})
	if err != nil {
		t.Fatal(err)
	}
	produce(t, c.ListenAddrs(), values, keys, kgo.SASL(o.SASL))
	r := startKafka(t, newTailStore(t), c.ListenAddrs(), "g", func(ko *KafkaOptions) { ko.SASL = o.SASL })
	waitUntil(t, "the records read with SCRAM", func() bool { return r.read() == 50 })
}

// TestKafkaFromConfigFiles names the TLS file at fault.
func TestKafkaFromConfigFiles(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		k    config.Kafka
		want string
	}{
		{config.Kafka{Topic: "t", TLS: true, TLSCA: filepath.Join(dir, "missing.pem")}, "tls_ca"},
		{config.Kafka{Topic: "t", TLS: true, TLSCA: notPEM}, "no PEM certificate"},
		{config.Kafka{Topic: "t", TLS: true, TLSCert: notPEM, TLSKey: notPEM}, "tls_cert and tls_key"},
	} {
		if _, err := KafkaFromConfig(tc.k); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "topic t") {
			t.Errorf("%+v: err %v, want one naming topic t and %q", tc.k, err, tc.want)
		}
	}
	o, err := KafkaFromConfig(config.Kafka{Topic: "t", TLS: true, TLSServerName: "kafka.internal"})
	if err != nil || o.TLS == nil || o.TLS.ServerName != "kafka.internal" {
		t.Errorf("TLS with the system roots: %+v, %v", o.TLS, err)
	}
}

// TestKafkaSourcePausesWhenInboxFull stops polling at the inbox limit and
// still shows the partitions' lag growing meanwhile.
func TestKafkaSourcePausesWhenInboxFull(t *testing.T) {
	c := newKfake(t, 1)
	values, keys, _ := kafkaEvents(t, 6, 1500)
	produce(t, c.ListenAddrs(), values, keys)
	db := newTailStore(t)
	s := NewKafkaSource(KafkaOptions{Brokers: c.ListenAddrs(), Topic: kafkaTopic, Group: "g",
		SessionTimeout: 900 * time.Millisecond, Poll: 10 * time.Millisecond, LagInterval: 20 * time.Millisecond})
	in := testIntake(t, db, s.Name(), func(o *IntakeOptions) { o.InboxLimit = 100 })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, in) }()
	defer func() { cancel(); <-done }()
	waitUntil(t, "paused with the lag shown", func() bool {
		st := s.Stats()
		return st.State == kafkaPaused && len(st.Partitions) == 1 && st.Partitions[0].HighWatermark == 1500
	})
	st := s.Stats()
	p := st.Partitions[0]
	if st.LinesRead < 100 || st.LinesRead > 100+kafkaBatchRecords || p.Offset != int64(st.LinesRead) || p.Lag != 1500-p.Offset {
		t.Errorf("paused after %d records at %+v: want one batch past the limit, the rest as lag", st.LinesRead, p)
	}
}

// TestCollectorScoresAKafkaTopic: a collector with a topic scores its
// records and shows the source's partitions in health and the metrics.
func TestCollectorScoresAKafkaTopic(t *testing.T) {
	k := newKfake(t, 2)
	values, keys, _ := kafkaEvents(t, 7, 100)
	produce(t, k.ListenAddrs(), values, keys)
	db := openTestStore(t)
	emu := newEmulator(t)
	reg := prometheus.NewRegistry()
	c, err := New(Options{DB: db, Client: testClient(t, emu.URL+"/api/v1", testKey), Registry: reg,
		Kafka: []KafkaOptions{{Brokers: k.ListenAddrs(), Topic: kafkaTopic, Group: "g",
			SessionTimeout: 900 * time.Millisecond, LagInterval: 20 * time.Millisecond}},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	stop := runInBackground(t, "collector", 10*time.Second, c.Run)
	waitFor(t, "every record scored", kafkaDeadline, func() bool {
		return decisionCount(t, db) == 100 && db.InboxDepth() == 0
	})
	h := c.Health(context.Background())
	if len(h.Sources) != 1 || h.Sources[0].Name != "kafka:"+kafkaTopic || h.Sources[0].LinesRead != 100 || len(h.Sources[0].Partitions) != 2 {
		t.Fatalf("health sources %+v, want the topic with its 2 partitions", h.Sources)
	}
	if n, err := testutil.GatherAndCount(reg, "riskwatch_kafka_lag_records"); err != nil || n != 2 {
		t.Errorf("%d lag series (%v), want one per partition", n, err)
	}
	stop()
	if st := c.sources[0].Stats(); st.State != kafkaStopped {
		t.Errorf("kafka source after Run: %q, want stopped", st.State)
	}
}

// TestKafkaSourceTLS reads from a cluster that speaks only TLS, verified
// against the tls_ca of a [[kafka]] table.
func TestKafkaSourceTLS(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kfake"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newKfake(t, 1, kfake.TLS(&tls.Config{MinVersion: tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}))
	o, err := KafkaFromConfig(config.Kafka{Brokers: c.ListenAddrs(), Topic: kafkaTopic, Group: "g", TLS: true, TLSCA: ca})
	if err != nil {
		t.Fatal(err)
	}
	values, keys, _ := kafkaEvents(t, 8, 50)
	produce(t, c.ListenAddrs(), values, keys, kgo.DialTLSConfig(o.TLS))
	r := startKafka(t, newTailStore(t), c.ListenAddrs(), "g", func(ko *KafkaOptions) { ko.TLS = o.TLS })
	waitUntil(t, "the records read over TLS", func() bool { return r.read() == 50 })
}

// TestKafkaSourceUnassigned: a member the group gives no partition says
// so, and takes the partition over when its owner leaves the group.
func TestKafkaSourceUnassigned(t *testing.T) {
	c := newKfake(t, 1)
	values, keys, _ := kafkaEvents(t, 9, 20)
	produce(t, c.ListenAddrs(), values[:10], keys[:10])
	a := startKafka(t, newTailStore(t), c.ListenAddrs(), "g", nil)
	waitUntil(t, "the first member reading", func() bool { return a.read() == 10 })
	b := startKafka(t, newTailStore(t), c.ListenAddrs(), "g", nil)
	waitUntil(t, "the second member shown unassigned", func() bool { return b.Stats().State == kafkaUnassigned })
	a.stop()
	produce(t, c.ListenAddrs(), values[10:], keys[10:])
	waitUntil(t, "the second member reading the rest", func() bool { return b.read() == 10 })
	if st := b.Stats(); st.State != kafkaReading || len(st.Partitions) != 1 {
		t.Errorf("second member after the first left: %+v", st)
	}
}
