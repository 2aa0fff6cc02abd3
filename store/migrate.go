package store

import (
	"bufio"
	"bytes"
	"cmp"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Migrations bring a file written by an older riskwatch up to
// SchemaVersion, in place, as etcd's server/storage/schema does: one
// migration per version step, each a list of steps over write
// transactions, run in order when the file is opened.
//
// Before the first write Open copies the file to PATH.bak-<version> (or
// PATH.bak-<version>.N when that exists), byte for byte, under the file's
// lock, and writes bktMeta's migration record (which names the copy), so
// the copy is taken once per migration. Steps work in chunks, each a write
// transaction, with bounded memory; a chunked step records in the
// migration record how far it got, with the chunk, so a migration that
// stops part way (a crash, a kill) goes on from there at the next Open (an
// index build starts over). The schema version is written by the
// transaction that ends a migration's last step, so a file is never marked
// newer than its contents.
type migration struct {
	from  uint64 // the version it reads; it leaves the file at from+1
	steps []migStep
}

type migStep struct {
	name string
	// run does the step, starting at pos (nil at the start; what the
	// step recorded with its last committed chunk otherwise), and ends
	// with a chunk that reports it done.
	run func(m *migrator, pos []byte) error
}

// migrations lists every migration, by the version it reads.
var migrations = []migration{
	{from: 1, steps: []migStep{
		{"preparing", migPrepare1},
		{"rollups, summaries and IP index", migEventTimes1},
		{"event-time, user and dimension indexes", migBuild([]indexBuild{
			{bktByTime, 0.95, 3, false, timeEntries},
			{bktByUser, 0.9, 3, false, userEntries},
			{bktByDim, 0, 10, true, dimEntries},
		})},
		{"finishing", migFinish1},
	}},
	{from: 2, steps: []migStep{
		{"dimension rollups", migDimRollups2},
	}},
	{from: 3, steps: []migStep{
		{"user index into the dimension runs", migUserRuns3},
	}},
	{from: 4, steps: []migStep{
		{"raw body dictionaries", migRawDicts},
	}},
	{from: 5, steps: []migStep{
		{"string table", migStrings},
	}},
}

// Chunk sizes of migrations (Options may lower them in tests).
const (
	// migChunk is how many decisions a chunked step reads per
	// transaction.
	migChunk = 200_000
	// migRunBytes is how much memory an index build sorts at once; more
	// is sorted in runs in temporary files and merged.
	migRunBytes = 64 << 20
	// migTxEntries is how many index entries an index build writes per
	// transaction.
	migTxEntries = 200_000
)

// migState is the migration record in bktMeta: the migration under way
// (by the version it reads), its step, the step's position and the backup
// copy taken before it.
type migState struct {
	from   uint64
	step   uint64
	pos    []byte
	backup string
}

const migStateV = 1

func (s *migState) encode() []byte {
	e := encoder{}
	e.byte1(migStateV)
	e.uvarint(s.from)
	e.uvarint(s.step)
	e.bytes(s.pos)
	e.str(s.backup)
	return e.b
}

func readMigState(tx *bolt.Tx) (migState, bool, error) {
	v := tx.Bucket(bktMeta).Get(metaMigration)
	if v == nil {
		return migState{}, false, nil
	}
	r := decoder{b: v}
	r.version(migStateV)
	s := migState{from: r.uvarint(), step: r.uvarint(), pos: r.bytes(), backup: r.str()}
	if r.err == nil && len(r.b) != 0 {
		r.fail()
	}
	if r.err != nil {
		return migState{}, false, fmt.Errorf("migration record: %w", r.err)
	}
	return s, true, nil
}

// migrator runs one step of a migration.
type migrator struct {
	db    *DB
	mig   *migration
	state migState
	opts  *Options
	// chunks counts the chunks committed by this Open (for the test
	// hook); pct is the last percentage reported.
	chunks *int
	pct    int
}

// migrate brings the file, at schema version from (below SchemaVersion),
// up to SchemaVersion: it takes the backup copy unless a migration record
// says it was taken, then runs the steps left.
func (db *DB) migrate(from uint64, opts *Options) error {
	var st migState
	var ok bool
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		st, ok, err = readMigState(tx)
		return err
	})
	if err != nil {
		return err
	}
	if ok && st.from != from {
		return fmt.Errorf("%w: the migration record is for schema %d, the file has schema %d", ErrCorrupt, st.from, from)
	}
	removeTemp(db.path)
	if !ok {
		backup, err := backupFile(db.path, from)
		if err != nil {
			return fmt.Errorf("back up before migrating: %w", err)
		}
		db.progress(opts, fmt.Sprintf("migrating %s from schema %d to %d: copied it to %s first", db.path, from, SchemaVersion, backup))
		st = migState{from: from, backup: backup}
		err = db.bolt.Update(func(tx *bolt.Tx) error { return tx.Bucket(bktMeta).Put(metaMigration, st.encode()) })
		if err != nil {
			return err
		}
	}
	chunks := 0
	for ok = true; ok; {
		i := slices.IndexFunc(migrations, func(m migration) bool { return m.from == st.from })
		if i < 0 || st.step >= uint64(len(migrations[i].steps)) {
			return fmt.Errorf("%w: no migration step %d from schema %d", ErrCorrupt, st.step, st.from)
		}
		mig := &migrations[i]
		step := mig.steps[st.step]
		m := &migrator{db: db, mig: mig, state: st, opts: opts, chunks: &chunks, pct: -1}
		if err := step.run(m, st.pos); err != nil {
			return fmt.Errorf("migrating from schema %d, %s: %w", st.from, step.name, err)
		}
		prev := st
		err := db.bolt.View(func(tx *bolt.Tx) error {
			var err error
			st, ok, err = readMigState(tx)
			return err
		})
		if err != nil {
			return err
		}
		if ok && st.from == prev.from && st.step == prev.step {
			return fmt.Errorf("migrating from schema %d: step %q did not finish", prev.from, step.name)
		}
	}
	db.progress(opts, fmt.Sprintf("migrated %s to schema %d", db.path, SchemaVersion))
	return nil
}

func (db *DB) progress(opts *Options, msg string) {
	if opts.Progress != nil {
		opts.Progress(msg)
	}
}

// report tells the progress callback how far the step is, when the
// percentage moved by 5 or more.
func (m *migrator) report(what string, done, total int64) {
	pct := 100
	if total > 0 {
		pct = int(min(100, done*100/total))
	}
	if m.pct >= 0 && pct < 100 && pct-m.pct < 5 || pct == m.pct {
		return
	}
	m.pct = pct
	name := m.mig.steps[m.state.step].name
	if what != "" {
		name += ": " + what
	}
	m.db.progress(m.opts, fmt.Sprintf("migrating %s from schema %d to %d: %s %d%%", m.db.path, m.mig.from, m.mig.from+1, name, pct))
}

// commit runs fn in a write transaction that also records where the step
// stands: at the position fn returns, or finished when fn reports done
// (the last step's finish writes the new schema version). Then it calls
// the test hook.
func (m *migrator) commit(fn func(tx *bolt.Tx) (pos []byte, done bool, err error)) error {
	err := m.db.bolt.Update(func(tx *bolt.Tx) error {
		pos, done, err := fn(tx)
		if err != nil {
			return err
		}
		meta := tx.Bucket(bktMeta)
		st := m.state
		st.pos = pos
		if done {
			st.step++
			st.pos = nil
			if st.step == uint64(len(m.mig.steps)) {
				if err := meta.Put(metaSchema, u64(m.mig.from+1)); err != nil {
					return err
				}
				if m.mig.from+1 == SchemaVersion {
					return meta.Delete(metaMigration)
				}
				st = migState{from: m.mig.from + 1, backup: st.backup}
			}
		}
		return meta.Put(metaMigration, st.encode())
	})
	if err != nil {
		return err
	}
	*m.chunks++
	if m.opts.testMigrateHook != nil {
		return m.opts.testMigrateHook(m.mig.steps[m.state.step].name, *m.chunks)
	}
	return nil
}

// backupFile copies the file at path, byte for byte, to path.bak-<version>,
// or path.bak-<version>.N for the first N that does not exist: an earlier
// backup is never overwritten. The caller holds the file's lock and has not
// written to it, so the copy is of one consistent state.
func backupFile(path string, version uint64) (string, error) {
	src, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer src.Close()
	base := fmt.Sprintf("%s.bak-%d", path, version)
	for n := 0; n < 1000; n++ {
		name := base
		if n > 0 {
			name = fmt.Sprintf("%s.%d", base, n)
		}
		dst, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, err = io.Copy(dst, src)
		if err == nil {
			err = dst.Sync()
		}
		if cerr := dst.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = syncDir(filepath.Dir(name))
		}
		if err != nil {
			_ = os.Remove(name)
			return "", err
		}
		return name, nil
	}
	return "", fmt.Errorf("%s and 999 numbered copies exist", base)
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// tempPrefix is the name prefix of an index build's temporary files.
func tempPrefix(path string) string { return filepath.Base(path) + ".migrate-" }

// removeTemp removes temporary files an interrupted index build left
// beside the file.
func removeTemp(path string) {
	dir := filepath.Dir(path)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tempPrefix(path)) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// Migration 1 -> 2.

// migPrepare1 drops what version 2 rebuilds with other keys or records
// (by_user, by_ip, users) and creates the buckets version 2 adds.
func migPrepare1(m *migrator, _ []byte) error {
	return m.commit(func(tx *bolt.Tx) ([]byte, bool, error) {
		for _, name := range [][]byte{bktByUser, bktByIP, bktUsers} {
			if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
				return nil, false, err
			}
		}
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return nil, false, err
			}
		}
		return nil, true, tx.Bucket(bktMeta).Delete([]byte("user_mark"))
	})
}

// migEventTimes1 walks the decisions in chunks and, for each, moves its
// rollup counts from the minute and hour it was stored in to those of its
// event time, and folds it into its user's summary and (IP, user) pair.
// Rollup counts of decisions retention deleted stay where they are: their
// decisions are gone, and only what a stored decision counted is moved.
// The position is the next decision key and the number of decisions done.
func migEventTimes1(m *migrator, pos []byte) error {
	var next decKey
	var done int64
	if len(pos) == len(next)+8 {
		next = decKey(pos)
		done = int64(binary.BigEndian.Uint64(pos[len(next):]))
	}
	var total int64
	if err := m.db.bolt.View(func(tx *bolt.Tx) error {
		total = int64(readU64(tx.Bucket(bktMeta).Get(metaDecisions)))
		return nil
	}); err != nil {
		return err
	}
	chunk := m.opts.migrateChunk
	for {
		var end bool
		n := 0
		err := m.commit(func(tx *bolt.Tx) ([]byte, bool, error) {
			var contribs []rollContrib
			sums := map[string]*summary{}
			ips := map[string]uint32{}
			var d decision.Decision
			c := tx.Bucket(bktDecisions).Cursor()
			codec := txCodec(tx)
			k, v := c.Seek(next[:])
			for ; k != nil && n < chunk; k, v = c.Next() {
				if err := decodeDecision(k, v, &d, codec); err != nil {
					return nil, false, err
				}
				dk := decKey(k)
				ev := clampNanos(d.EventTime)
				if was, is := contribOf(dk.nanos(), &d), contribOf(ev, &d); was.minute != is.minute {
					was.neg = true
					contribs = append(contribs, was, is)
				}
				if d.UserID != "" {
					user := indexPart(d.UserID)
					s := sums[user]
					if s == nil {
						s = new(summary)
						sums[user] = s
					}
					f := fieldsOf(&d)
					s.add(ev, &f)
					if d.IP != "" {
						pair := string(appendLP(appendLP(nil, indexPart(d.IP)), user))
						ips[pair] = max(ips[pair], dayOf(ev))
					}
				}
				next = dk.after()
				n++
			}
			end = k == nil
			err := applyRollups(contribs, tx.Bucket(bktMinutes), tx.Bucket(bktHours), func(b *bolt.Bucket, key []byte, r rollup) error {
				return b.Put(key, r.encode(nil))
			})
			if err != nil {
				return nil, false, err
			}
			users := tx.Bucket(bktUsers)
			for _, user := range slices.Sorted(maps.Keys(sums)) {
				var s summary
				if v := users.Get([]byte(user)); v != nil {
					if err := decodeSummary(user, v, &s); err != nil {
						return nil, false, err
					}
				}
				s.merge(sums[user])
				if err := users.Put([]byte(user), encodeSummary(nil, &s)); err != nil {
					return nil, false, err
				}
			}
			byIP := tx.Bucket(bktByIP)
			for _, pair := range slices.Sorted(maps.Keys(ips)) {
				day := ips[pair]
				if v := byIP.Get([]byte(pair)); len(v) == 4 && binary.BigEndian.Uint32(v) >= day {
					continue
				}
				if err := byIP.Put([]byte(pair), binary.BigEndian.AppendUint32(nil, day)); err != nil {
					return nil, false, err
				}
			}
			return binary.BigEndian.AppendUint64(slices.Clone(next[:]), uint64(done+int64(n))), end, nil
		})
		if err != nil {
			return err
		}
		done += int64(n)
		m.report("", done, total)
		if end {
			return nil
		}
	}
}

// migFinish1 folds nothing: every decision is indexed now, so the index
// mark moves to the last one.
func migFinish1(m *migrator, _ []byte) error {
	return m.commit(func(tx *bolt.Tx) ([]byte, bool, error) {
		meta := tx.Bucket(bktMeta)
		last := meta.Get(metaLastKey)
		if last == nil {
			return nil, true, meta.Delete(metaIndexMark)
		}
		return nil, true, meta.Put(metaIndexMark, slices.Clone(last))
	})
}

// Index entries of a decision, as the writer and retention make them: each
// function calls emit with the keys and values of decision d with event
// key e, built in b (returned for reuse; emit copies them).

func timeEntries(b []byte, e evKey, _ *decision.Decision, emit func(k, v []byte) error) ([]byte, error) {
	return b, emit(e[:], nil)
}

func userEntries(b []byte, e evKey, d *decision.Decision, emit func(k, v []byte) error) ([]byte, error) {
	if d.UserID == "" {
		return b, nil
	}
	b = append(appendLP(b[:0], indexPart(d.UserID)), e[:]...)
	return b, emit(b, nil)
}

func dimEntries(b []byte, e evKey, d *decision.Decision, emit func(k, v []byte) error) ([]byte, error) {
	var vals [numKinds]string
	dimValues(d, &vals)
	b = appendLP(b[:0], indexPart(d.UserID))
	n := len(b)
	for i, v := range vals {
		if v == "" {
			continue
		}
		b = append(dimPrefix(b[:n], DimKinds[i], v), e[:]...)
		if err := emit(b[n:], b[:n]); err != nil {
			return b, err
		}
	}
	return b, nil
}

// indexBuild is one index a build step fills: its bucket, how full to
// fill its pages, its share of the memory the step sorts in, whether it is
// kept as runs (by_dim, one run of every entry), and its entries.
type indexBuild struct {
	bucket  []byte
	fill    float64
	share   int
	runs    bool
	entries func(b []byte, e evKey, d *decision.Decision, emit func(k, v []byte) error) ([]byte, error)
}

// migBuild returns a step that builds indexes from scratch: it empties
// their buckets, reads the decisions once to compute every entry, sorts
// each index's entries (in runs in temporary files when they do not fit in
// its share of migrateRunBytes) and appends them to its bucket in key
// order. An interrupted build starts over.
func migBuild(idx []indexBuild) func(*migrator, []byte) error {
	return func(m *migrator, _ []byte) error {
		err := m.db.bolt.Update(func(tx *bolt.Tx) error {
			for _, x := range idx {
				if err := tx.DeleteBucket(x.bucket); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
					return err
				}
				if _, err := tx.CreateBucket(x.bucket); err != nil {
					return err
				}
			}
			return tx.Bucket(bktMeta).Delete(metaDimState)
		})
		if err != nil {
			return err
		}
		shares := 0
		for _, x := range idx {
			shares += x.share
		}
		sorters := make([]*sorter, len(idx))
		for i, x := range idx {
			sorters[i] = &sorter{dir: filepath.Dir(m.db.path), prefix: tempPrefix(m.db.path), limit: m.opts.migrateRunBytes * x.share / shares}
			defer sorters[i].close()
		}
		err = m.db.bolt.View(func(tx *bolt.Tx) error {
			total := int64(readU64(tx.Bucket(bktMeta).Get(metaDecisions)))
			var d decision.Decision
			var buf []byte
			var done int64
			c := tx.Bucket(bktDecisions).Cursor()
			codec := txCodec(tx)
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if err := decodeDecision(k, v, &d, codec); err != nil {
					return err
				}
				e := makeEvKey(clampNanos(d.EventTime), decKey(k))
				for i, x := range idx {
					var err error
					if buf, err = x.entries(buf, e, &d, sorters[i].add); err != nil {
						return err
					}
				}
				if done++; done%4096 == 0 {
					m.report("reading", done, total)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		var total, written int64
		for _, s := range sorters {
			total += s.n
		}
		m.pct = -1
		ds := dimState{next: 1}
		for i, x := range idx {
			if x.runs {
				n, err := m.appendRun(x.bucket, ds.next, sorters[i], &written, total)
				if err != nil {
					return fmt.Errorf("%s: %w", x.bucket, err)
				}
				if n > 0 {
					ds.runs = append(ds.runs, dimRun{id: ds.next, level: m.db.dims.levelOf(n), n: n})
					ds.next++
				}
			} else if err := m.appendSorted(x.bucket, x.fill, sorters[i], &written, total); err != nil {
				return fmt.Errorf("%s: %w", x.bucket, err)
			}
			sorters[i].close()
		}
		return m.commit(func(tx *bolt.Tx) ([]byte, bool, error) {
			return nil, true, tx.Bucket(bktMeta).Put(metaDimState, ds.encode(nil))
		})
	}
}

// appendRun writes the sorted entries of s as the by_dim run id, blocks
// of migrateTxEntries entries per write transaction, and returns how many
// entries it wrote.
func (m *migrator) appendRun(name []byte, id uint64, s *sorter, written *int64, total int64) (uint64, error) {
	var tx *bolt.Tx
	defer func() {
		if tx != nil {
			_ = tx.Rollback()
		}
	}()
	inTx := 0
	w := blockWriter{id: id, size: m.db.dims.block, put: func(k, v []byte) error {
		if tx == nil {
			var err error
			if tx, err = m.db.bolt.Begin(true); err != nil {
				return err
			}
			tx.Bucket(name).FillPercent = 1
		}
		return tx.Bucket(name).Put(slices.Clone(k), slices.Clone(v))
	}}
	commit := func() error {
		if tx == nil {
			return nil
		}
		err := tx.Commit()
		tx, inTx = nil, 0
		if err != nil {
			return err
		}
		return m.chunkDone("writing", *written, total)
	}
	err := s.each(func(k, v []byte) error {
		if err := w.add(k, v); err != nil {
			return err
		}
		*written++
		if inTx++; inTx >= m.opts.migrateTxEntries && len(w.buf) == 0 {
			return commit()
		}
		return nil
	})
	if err == nil {
		err = w.flush()
	}
	if err == nil {
		err = commit()
	}
	return w.n, err
}

// chunkDone counts a committed chunk, calls the test hook and reports
// progress.
func (m *migrator) chunkDone(what string, done, total int64) error {
	*m.chunks++
	if m.opts.testMigrateHook != nil {
		if err := m.opts.testMigrateHook(m.mig.steps[m.state.step].name, *m.chunks); err != nil {
			return err
		}
	}
	m.report(what, done, total)
	return nil
}

// appendSorted writes the sorted entries of s to the bucket name in write
// transactions of at most migrateTxEntries entries, counting them in
// *written (of total, for progress).
func (m *migrator) appendSorted(name []byte, fill float64, s *sorter, written *int64, total int64) error {
	var tx *bolt.Tx
	var arena []byte
	var inTx int
	defer func() {
		if tx != nil {
			_ = tx.Rollback()
		}
	}()
	commit := func() error {
		err := tx.Commit()
		tx = nil
		if err != nil {
			return err
		}
		return m.chunkDone("writing", *written, total)
	}
	var b *bolt.Bucket
	err := s.each(func(k, v []byte) error {
		if tx == nil {
			var err error
			if tx, err = m.db.bolt.Begin(true); err != nil {
				return err
			}
			arena, inTx = arena[:0], 0
			b = tx.Bucket(name)
			b.FillPercent = fill
		}
		// bbolt keeps the key and value until the commit: copy them to a
		// buffer of this transaction (a grown buffer leaves the old one
		// intact).
		start := len(arena)
		arena = append(append(arena, k...), v...)
		kk := arena[start : start+len(k) : start+len(k)]
		vv := arena[start+len(k) : len(arena) : len(arena)]
		if err := b.Put(kk, vv); err != nil {
			return err
		}
		*written++
		if inTx++; inTx == m.opts.migrateTxEntries {
			arena = nil
			return commit()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if tx != nil {
		return commit()
	}
	return nil
}

// sorter sorts index entries with bounded memory: it keeps up to limit
// bytes of them, and writes each full load, sorted, to a temporary file (a
// run) that each then merges.
type sorter struct {
	dir, prefix string
	limit       int
	buf         []byte     // keys and values, back to back
	ents        []sortEnt  // the entries in buf
	runs        []*os.File // sorted runs written so far
	n           int64      // entries added
}

// sortEnt locates an entry in sorter.buf; head and head2 hold the first 16
// bytes of its key (zero-padded), which decide most comparisons without
// reading buf (user and dimension keys share their first 8 bytes often:
// kind, length and the start of values such as "user-").
type sortEnt struct {
	head, head2     uint64
	off, klen, vlen uint32
}

// sortEntSize is what an entry costs beside its bytes.
const sortEntSize = 28

func (s *sorter) key(e sortEnt) []byte { return s.buf[e.off : e.off+e.klen] }
func (s *sorter) val(e sortEnt) []byte { return s.buf[e.off+e.klen : e.off+e.klen+e.vlen] }

// add copies an entry in.
func (s *sorter) add(k, v []byte) error {
	if len(s.buf)+len(k)+len(v)+sortEntSize*(len(s.ents)+1) > s.limit && len(s.ents) > 0 {
		if err := s.spill(); err != nil {
			return err
		}
	}
	var head [16]byte
	copy(head[:], k)
	s.ents = append(s.ents, sortEnt{binary.BigEndian.Uint64(head[:8]), binary.BigEndian.Uint64(head[8:]), uint32(len(s.buf)), uint32(len(k)), uint32(len(v))})
	s.buf = append(append(s.buf, k...), v...)
	s.n++
	return nil
}

func (s *sorter) sort() {
	slices.SortFunc(s.ents, func(a, b sortEnt) int {
		if a.head != b.head {
			return cmp.Compare(a.head, b.head)
		}
		if a.head2 != b.head2 {
			return cmp.Compare(a.head2, b.head2)
		}
		return bytes.Compare(s.key(a), s.key(b))
	})
}

// spill writes the entries held, sorted, to a new run.
func (s *sorter) spill() error {
	s.sort()
	f, err := os.CreateTemp(s.dir, s.prefix+"*")
	if err != nil {
		return err
	}
	s.runs = append(s.runs, f)
	w := bufio.NewWriterSize(f, 1<<20)
	var hdr []byte
	for _, e := range s.ents {
		hdr = binary.AppendUvarint(binary.AppendUvarint(hdr[:0], uint64(e.klen)), uint64(e.vlen))
		if _, err := w.Write(hdr); err != nil {
			return err
		}
		if _, err := w.Write(s.buf[e.off : e.off+e.klen+e.vlen]); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	s.buf, s.ents = s.buf[:0], s.ents[:0]
	return nil
}

// each calls fn with every entry in key order. k and v are valid only
// during the call.
func (s *sorter) each(fn func(k, v []byte) error) error {
	if len(s.runs) == 0 {
		s.sort()
		for _, e := range s.ents {
			if err := fn(s.key(e), s.val(e)); err != nil {
				return err
			}
		}
		return nil
	}
	if len(s.ents) > 0 {
		if err := s.spill(); err != nil {
			return err
		}
	}
	s.buf, s.ents = nil, nil
	h := make(runHeap, 0, len(s.runs))
	for _, f := range s.runs {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		r := &runReader{r: bufio.NewReaderSize(f, 256<<10)}
		ok, err := r.next()
		if err != nil {
			return err
		}
		if ok {
			h = append(h, r)
		}
	}
	heap.Init(&h)
	for len(h) > 0 {
		r := h[0]
		if err := fn(r.k, r.v); err != nil {
			return err
		}
		ok, err := r.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(&h, 0)
		} else {
			heap.Pop(&h)
		}
	}
	return nil
}

// close removes the runs and lets go of the memory.
func (s *sorter) close() {
	for _, f := range s.runs {
		_ = f.Close()
		_ = os.Remove(f.Name())
	}
	s.runs, s.buf, s.ents = nil, nil, nil
}

// runReader reads a run's entries in order.
type runReader struct {
	r    *bufio.Reader
	k, v []byte
}

func (r *runReader) next() (bool, error) {
	kl, err := binary.ReadUvarint(r.r)
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	vl, err := binary.ReadUvarint(r.r)
	if err != nil {
		return false, err
	}
	r.k = slices.Grow(r.k[:0], int(kl))[:kl]
	r.v = slices.Grow(r.v[:0], int(vl))[:vl]
	if _, err := io.ReadFull(r.r, r.k); err != nil {
		return false, err
	}
	if _, err := io.ReadFull(r.r, r.v); err != nil {
		return false, err
	}
	return true, nil
}

// runHeap orders run readers by their current key.
type runHeap []*runReader

func (h runHeap) Len() int           { return len(h) }
func (h runHeap) Less(i, j int) bool { return bytes.Compare(h[i].k, h[j].k) < 0 }
func (h runHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)        { *h = append(*h, x.(*runReader)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
