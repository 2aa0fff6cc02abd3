package store

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"
	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// When raw body dictionaries are trained: the first once the store holds
// trainMin decisions, another each time it holds trainGrowth times as many
// as at the last try. A new dictionary is kept only when it compresses the
// held-out decisions by at least keepGain better than the newest one.
const (
	trainMin    = 4096
	trainGrowth = 4
	keepGain    = 0.10
	// trainSamples is how many of the newest decisions a try reads; every
	// trainHoldout-th of them is held out to judge the dictionary.
	trainSamples = 8192
	trainHoldout = 4
	// dictHistory is the size of a dictionary's content: samples of the
	// bodies themselves, which zstd matches against.
	dictHistory = 32 << 10
)

// trainer trains raw body dictionaries in a goroutine owned by the store:
// started by Open (not read-only), stopped by Close before the writer. A
// try reads in its own read transaction and commits through the writer,
// so writes never wait for it.
type trainer struct {
	db  *DB
	min uint64
	// next is the number of stored decisions at which the next try is
	// due.
	next atomic.Uint64
	wake chan struct{}
	// tries counts finished tries (kept or not, failed or not).
	tries  atomic.Uint64
	cancel context.CancelFunc
	done   chan struct{}
}

// startTrainer starts db's trainer; min is the decisions before the first
// dictionary (zero: trainMin).
func startTrainer(db *DB, min uint64) (*trainer, error) {
	if min == 0 {
		min = trainMin
	}
	var last uint64
	err := db.view(func(tx *bolt.Tx) error {
		last = readU64(tx.Bucket(bktMeta).Get(metaRawTrained))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open store %s: raw body dictionaries: %w", db.path, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &trainer{db: db, min: min, wake: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	t.next.Store(t.due(last))
	go t.run(ctx)
	t.poke(db.decisions.Load())
	return t, nil
}

// due is when the try after one at last decisions is due.
func (t *trainer) due(last uint64) uint64 { return max(t.min, last*trainGrowth) }

// poke wakes the trainer if n stored decisions make a try due. It never
// blocks; t may be nil (a read-only store).
func (t *trainer) poke(n uint64) {
	if t == nil || n < t.next.Load() {
		return
	}
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// stop ends the goroutine, waiting for a try under way to finish or see
// its context end.
func (t *trainer) stop() {
	if t == nil {
		return
	}
	t.cancel()
	<-t.done
}

func (t *trainer) run(ctx context.Context) {
	defer close(t.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.wake:
		}
		n := t.db.decisions.Load()
		if n < t.next.Load() {
			continue
		}
		// A failed try is not repeated before the next one is due.
		t.next.Store(t.due(n))
		_ = t.try(ctx, n)
		t.tries.Add(1)
	}
}

// try trains a dictionary on the newest decisions and keeps it if it is
// better enough, recording n as the decisions at this try either way.
func (t *trainer) try(ctx context.Context, n uint64) error {
	samples, err := t.samples(ctx)
	if err != nil {
		return err
	}
	raw := t.db.raw
	var keep *rawDict
	if len(samples) >= trainHoldout*4 {
		var train, held [][]byte
		for i, s := range samples {
			if i%trainHoldout == 0 {
				held = append(held, s)
			} else {
				train = append(train, s)
			}
		}
		d, err := buildRawDict(raw.newest()+1, train)
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		d.trainedAt, d.decisions, d.samples = t.db.now().UnixNano(), n, uint64(len(train))
		d.rawBytes, d.packedBytes = packedSize(nil, held), packedSize(d, held)
		if was := packedSize(raw.cur.Load(), held); float64(d.packedBytes) <= (1-keepGain)*float64(was) {
			keep = d
		}
	}
	err = t.db.submit(ctx, 1, func(st *txState) error {
		if keep != nil {
			if err := st.tx.Bucket(bktRawDicts).Put(rawDictKey(keep.id), encodeRawDict(keep)); err != nil {
				return err
			}
		}
		return st.meta.Put(metaRawTrained, u64(n))
	})
	if err != nil {
		return err
	}
	if keep != nil {
		raw.add(keep)
	}
	return nil
}

// samples returns the raw bodies (request and response together) of up to
// trainSamples of the newest decisions, newest first, leaving out those
// without any.
func (t *trainer) samples(ctx context.Context) ([][]byte, error) {
	var out [][]byte
	err := t.db.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bktDecisions).Cursor()
		for k, v := c.Last(); k != nil && len(out) < trainSamples; k, v = c.Prev() {
			if err := ctx.Err(); err != nil {
				return err
			}
			var d decision.Decision
			if err := decodeDecision(k, v, &d, t.db.whole()); err != nil {
				return err
			}
			if len(d.Request)+len(d.Response) > 0 {
				out = append(out, append(d.Request, d.Response...))
			}
		}
		return nil
	})
	return out, err
}

// buildRawDict trains dictionary id on samples: its content is samples
// spread over the list, up to dictHistory bytes, and its entropy tables
// are fitted to all of them.
func buildRawDict(id uint32, samples [][]byte) (*rawDict, error) {
	total := 0
	for _, s := range samples {
		total += len(s)
	}
	step := max(1, total/dictHistory)
	var hist []byte
	for i := 0; i < step && len(hist) < dictHistory; i++ {
		for j := i; j < len(samples) && len(hist)+len(samples[j]) <= dictHistory; j += step {
			hist = append(hist, samples[j]...)
		}
	}
	if len(hist) < 8 {
		return nil, fmt.Errorf("train raw body dictionary: %d bytes of samples is too little", len(hist))
	}
	data, err := zstd.BuildDict(zstd.BuildDictOptions{ID: id, Contents: samples, History: hist, Offsets: [3]int{1, 4, 8},
		Level: zstd.SpeedFastest})
	if err != nil {
		return nil, fmt.Errorf("train raw body dictionary: %w", err)
	}
	return &rawDict{rawDictInfo: rawDictInfo{id: id}, data: data}, nil
}

// packedSize is how many bytes the samples' raw-body sections take with
// dictionary d (plain with nil).
func packedSize(d *rawDict, samples [][]byte) uint64 {
	c := &rawCodec{}
	c.cur.Store(d)
	var n uint64
	var b []byte
	for _, s := range samples {
		b = c.appendRaw(b[:0], s, nil)
		n += uint64(len(b))
	}
	return n
}
