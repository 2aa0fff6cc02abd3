package store

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// writeSchema2 makes a schema-2 file of n decisions at path: a store of
// this release with its records rewritten as round 2 wrote them and the
// bucket and meta key of schema 3 removed. It returns the decisions as
// stored.
func writeSchema2(t *testing.T, path string, ds []decision.Decision) []decision.Decision {
	t.Helper()
	db, err := Open(path, Options{NoSync: true, rawTrainMin: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	stored := completeAll(t, db, ds)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket(bktDecisions)
		type kv struct{ k, v []byte }
		var recs []kv
		codec := txCodec(tx)
		codec.raw = &rawCodec{}
		err := b.ForEach(func(k, v []byte) error {
			var d decision.Decision
			if err := decodeDecision(k, v, &d, codec); err != nil {
				return err
			}
			recs = append(recs, kv{bytes.Clone(k), encodeDecisionV2(&d)})
			return nil
		})
		if err != nil {
			return err
		}
		for _, r := range recs {
			if err := b.Put(r.k, r.v); err != nil {
				return err
			}
		}
		for _, name := range [][]byte{bktRawDicts, bktStrings} {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bktMeta)
		if err := meta.Delete(metaRawTrained); err != nil {
			return err
		}
		return meta.Put(metaSchema, u64(2))
	})
	return stored
}

// TestMigrateSchema2 opens a schema-2 file: the migration keeps a backup
// and adds the dictionaries' bucket, the round-2 records read as they
// were, the store trains its first dictionary from them, and the
// decisions stored after it are compressed; every body reads back byte
// for byte.
func TestMigrateSchema2RawDicts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s2.db")
	g := newFakeGen(12, 60, 30)
	var ds []decision.Decision
	for i := range 1500 {
		ds = append(ds, g.decision(i))
	}
	stored := writeSchema2(t, path, ds)
	before := dumpBuckets(t, path)
	var progress []string
	db, err := Open(path, Options{NoSync: true, rawTrainMin: 1000, Progress: func(m string) { progress = append(progress, m) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".bak-2"); err != nil {
		t.Errorf("no backup: %v (progress %q)", err, progress)
	}
	waitTries(t, db, 1)
	if db.raw.newest() != 1 {
		t.Fatalf("no dictionary trained from the migrated decisions")
	}
	ds = ds[:0]
	for i := range 300 {
		ds = append(ds, g.decision(5000+i))
	}
	stored = append(stored, completeAll(t, db, ds)...)
	tags := checkBodies(t, db, stored)
	if tags[1<<63|decisionV2] != 1500 || tags[1] < 290 {
		t.Errorf("records by raw-body encoding: %v", tags)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	after := dumpBuckets(t, path)
	if readU64([]byte(after["meta"]["schema"])) != SchemaVersion || after["meta"][string(metaMigration)] != "" || len(after["raw_dicts"]) != 1 {
		t.Errorf("after the migration: schema %x, migration record %q, %d dictionaries", after["meta"]["schema"], after["meta"][string(metaMigration)], len(after["raw_dicts"]))
	}
	for k, v := range before["decisions"] {
		if after["decisions"][k] != v {
			t.Fatalf("the migration changed record %x", k)
		}
	}
}
