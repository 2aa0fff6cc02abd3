package store

import bolt "go.etcd.io/bbolt"

// Migration 5 -> 6.

// migStrings creates the string table's bucket (strtab.go). Decision
// records of versions 1 to 3 stay as they are and read as before; records
// stored from then on are of version 4. The schema version keeps a release
// that cannot read those from opening the file.
func migStrings(m *migrator, _ []byte) error {
	return m.commit(func(tx *bolt.Tx) ([]byte, bool, error) {
		_, err := tx.CreateBucketIfNotExists(bktStrings)
		return nil, true, err
	})
}
