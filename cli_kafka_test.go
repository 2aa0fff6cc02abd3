package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// The Kafka flags need a topic, and what they give is checked like the
// configuration file.
func TestKafkaFlagErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	env := map[string]string{"SAFEE_API_KEY": "k"}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--kafka-brokers", "k1:9092"}, 2, "need --kafka-topic"},
		{[]string{"--kafka-group", "g"}, 2, "need --kafka-topic"},
		{[]string{"--kafka-topic", "events"}, 1, "kafka[0].brokers"},
		{[]string{"--kafka-topic", "events", "--kafka-brokers", "k1"}, 1, `want HOST:PORT such as "kafka-1:9092", got "k1"`},
	} {
		code, _, stderr := runCLI(t, env, append([]string{"collect", "--db", db}, tc.args...)...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want exit %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}
