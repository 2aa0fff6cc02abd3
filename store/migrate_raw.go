package store

import bolt "go.etcd.io/bbolt"

// Migration 2 -> 3.

// migRawDicts creates the raw body dictionaries' bucket. Decision records
// of version 2 stay as they are: their bodies read as plain ones. The store
// trains its first dictionary once open (rawtrain.go), and compresses the
// decisions stored from then on; the file does not shrink, since the old
// records keep their pages.
func migRawDicts(m *migrator, _ []byte) error {
	return m.commit(func(tx *bolt.Tx) ([]byte, bool, error) {
		_, err := tx.CreateBucketIfNotExists(bktRawDicts)
		return nil, true, err
	})
}
