package store

import (
	"encoding/binary"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"
	bolt "go.etcd.io/bbolt"
)

// Raw request and response bodies are kept compressed with zstd and a
// dictionary trained from the store's own decisions (rawtrain.go). A
// decision record says how its bodies are kept (see encodeDecision): plain,
// or a zstd frame of request and response together, made with dictionary
// N. Dictionaries live in bktRawDicts under their ID and are never
// deleted, so every record written with one stays readable; IDs start at 1
// and only grow.

// rawPlain is the raw-body encoding tag of bodies kept as they are; any
// other tag is the ID of the dictionary their frame was made with.
const rawPlain = 0

// zstdMagic starts every zstd frame; records keep frames without it.
var zstdMagic = [4]byte{0x28, 0xb5, 0x2f, 0xfd}

// maxRawRatio bounds how many bytes a stored frame may claim to inflate
// to, per byte of frame: a zstd block of at most 128 KiB takes at least 4
// bytes. A damaged record claiming more is refused before anything is
// allocated for it.
const maxRawRatio = 128 << 10 / 4

// rawCodec compresses and inflates raw bodies with the store's
// dictionaries; the zero value has none. It is safe for concurrent use: encoders and decoders are
// zstd's own pools (one of each per dictionary, made on first use, as
// many concurrent calls as GOMAXPROCS).
type rawCodec struct {
	// dicts maps every dictionary ID to its dictionary; the map is never
	// changed once published (add copies it).
	dicts atomic.Pointer[map[uint32]*rawDict]
	// cur is the dictionary new records are compressed with, nil until
	// the store has one.
	cur atomic.Pointer[rawDict]
	// mu serialises add.
	mu sync.Mutex
	// bufs holds scratch buffers (*[]byte) for frames on their way in
	// and out.
	bufs sync.Pool
}

// maxPooled is the largest scratch buffer kept for reuse.
const maxPooled = 64 << 10

func (c *rawCodec) buf() *[]byte {
	if p, ok := c.bufs.Get().(*[]byte); ok {
		return p
	}
	return new([]byte)
}

func (c *rawCodec) putBuf(p *[]byte) {
	if cap(*p) <= maxPooled {
		*p = (*p)[:0]
		c.bufs.Put(p)
	}
}

// rawDict is one stored dictionary with its encoder and decoder.
type rawDict struct {
	rawDictInfo
	data []byte // the dictionary in zstd's format

	encOnce sync.Once
	enc     *zstd.Encoder
	encErr  error

	decOnce sync.Once
	dec     *zstd.Decoder
	decErr  error
}

// rawDictInfo is what a dictionary record says besides the dictionary.
type rawDictInfo struct {
	id uint32
	// trainedAt is the store's clock when it was trained (unix
	// nanoseconds); decisions is how many decisions the store held then;
	// samples is how many decisions it was trained from.
	trainedAt          int64
	decisions, samples uint64
	// rawBytes and packedBytes are the size of the held-out decisions'
	// bodies it was judged on, plain and compressed with it.
	rawBytes, packedBytes uint64
}

const rawDictV = 1

func encodeRawDict(d *rawDict) []byte {
	e := encoder{}
	e.byte1(rawDictV)
	e.varint(d.trainedAt)
	e.uvarint(d.decisions)
	e.uvarint(d.samples)
	e.uvarint(d.rawBytes)
	e.uvarint(d.packedBytes)
	e.bytes(d.data)
	return e.b
}

func decodeRawDict(key, val []byte) (*rawDict, error) {
	if len(key) != 4 || binary.BigEndian.Uint32(key) == rawPlain {
		return nil, fmt.Errorf("raw body dictionary key %x: %w", key, errRecord)
	}
	r := decoder{b: val}
	r.version(rawDictV)
	d := &rawDict{rawDictInfo: rawDictInfo{id: binary.BigEndian.Uint32(key), trainedAt: r.varint(), decisions: r.uvarint(),
		samples: r.uvarint(), rawBytes: r.uvarint(), packedBytes: r.uvarint()}, data: r.bytes()}
	if r.err == nil && len(r.b) != 0 {
		r.fail()
	}
	if r.err != nil {
		return nil, fmt.Errorf("raw body dictionary %d: %w", d.id, r.err)
	}
	return d, nil
}

func rawDictKey(id uint32) []byte { return binary.BigEndian.AppendUint32(nil, id) }

// newRawCodec returns a codec with the dictionaries stored in tx (none
// when the bucket is missing); the newest one compresses.
func newRawCodec(tx *bolt.Tx) (*rawCodec, error) {
	c := &rawCodec{}
	dicts := map[uint32]*rawDict{}
	c.dicts.Store(&dicts)
	b := tx.Bucket(bktRawDicts)
	if b == nil {
		return c, nil
	}
	var newest *rawDict
	err := b.ForEach(func(k, v []byte) error {
		d, err := decodeRawDict(k, v)
		if err != nil {
			return err
		}
		dicts[d.id] = d
		newest = d
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.cur.Store(newest)
	return c, nil
}

// add publishes d, stored by a committed transaction, as the dictionary new
// records use.
func (c *rawCodec) add(d *rawDict) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := map[uint32]*rawDict{}
	if m := c.dicts.Load(); m != nil {
		next = maps.Clone(*m)
	}
	next[d.id] = d
	c.dicts.Store(&next)
	c.cur.Store(d)
}

// newest returns the ID of the newest dictionary, 0 when there is none.
func (c *rawCodec) newest() uint32 {
	if d := c.cur.Load(); d != nil {
		return d.id
	}
	return rawPlain
}

// count returns how many dictionaries c has.
func (c *rawCodec) count() int {
	if m := c.dicts.Load(); m != nil {
		return len(*m)
	}
	return 0
}

// close releases the encoders and decoders. Nothing may use c after.
func (c *rawCodec) close() {
	m := c.dicts.Load()
	if m == nil {
		return
	}
	for _, d := range *m {
		if d.enc != nil {
			_ = d.enc.Close()
		}
		if d.dec != nil {
			d.dec.Close()
		}
	}
}

// encoder returns d's encoder. Its frames keep literals as they are
// (zstd's raw literals section, which every decoder reads): the bodies
// of a decision are mostly matches in the dictionary, and Huffman-coding
// the few literals left cost about 2 of a frame's 7 CPU-us to save about
// 1 byte of 70 (BenchmarkRawCompress's decisions). Records written with
// Huffman-coded literals read the same.
func (d *rawDict) encoder() (*zstd.Encoder, error) {
	d.encOnce.Do(func() {
		d.enc, d.encErr = zstd.NewWriter(nil, zstd.WithEncoderDict(d.data), zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithEncoderConcurrency(0), zstd.WithNoEntropyCompression(true))
	})
	return d.enc, d.encErr
}

func (d *rawDict) decoder() (*zstd.Decoder, error) {
	d.decOnce.Do(func() {
		d.dec, d.decErr = zstd.NewReader(nil, zstd.WithDecoderDicts(d.data), zstd.WithDecoderConcurrency(0),
			zstd.WithDecodeAllCapLimit(true))
	})
	return d.dec, d.decErr
}

// appendRaw appends the raw-body section of a decision record: with the
// newest dictionary, uvarint ID, uvarint lengths of request and response
// and lp(the zstd frame of both, without its magic number, with its
// checksum, so that damage shows as an error rather than other bytes); plain
// (rawPlain, lp(request), lp(response)) when there is no dictionary yet or
// compressing saves nothing.
func (c *rawCodec) appendRaw(b, req, resp []byte) []byte {
	start := len(b)
	if d := c.cur.Load(); d != nil && len(req)+len(resp) > 0 {
		plain := 1 + uvarintLen(len(req)) + len(req) + uvarintLen(len(resp)) + len(resp)
		scratch := c.buf()
		out, ok := d.appendFrame(b, req, resp, scratch)
		c.putBuf(scratch)
		if ok && len(out)-start < plain {
			return out
		}
		b = b[:start]
	}
	e := encoder{b}
	e.uvarint(rawPlain)
	e.bytes(req)
	e.bytes(resp)
	return e.b
}

// appendFrame appends d's compressed raw-body section to b, using scratch
// for the bodies and the frame (whose length prefix comes before it); ok
// is false when d has no encoder (the section is then incomplete).
func (d *rawDict) appendFrame(b, req, resp []byte, scratch *[]byte) ([]byte, bool) {
	enc, err := d.encoder()
	if err != nil {
		return b, false
	}
	b = binary.AppendUvarint(b, uint64(d.id))
	b = binary.AppendUvarint(b, uint64(len(req)))
	b = binary.AppendUvarint(b, uint64(len(resp)))
	src := append(append((*scratch)[:0], req...), resp...)
	// The frame goes right after the bodies in the same buffer.
	frame := enc.EncodeAll(src, src[len(src):])
	*scratch = src[:0]
	if cap(frame) > cap(src)-len(src) {
		*scratch = frame[:0]
	}
	if len(frame) < len(zstdMagic) {
		return b, false
	}
	frame = frame[len(zstdMagic):]
	b = binary.AppendUvarint(b, uint64(len(frame)))
	return append(b, frame...), true
}

// readRaw reads the raw-body section from r and returns the request and
// response (nil when empty), never aliasing r's bytes. A frame that does not inflate to the lengths it claims
// fails r with an error wrapping ErrCorrupt and errRecord.
func (c *rawCodec) readRaw(r *decoder) (req, resp []byte) {
	id := r.uvarint()
	if id == rawPlain {
		return r.bytes(), r.bytes()
	}
	nreq, nresp := r.uvarint(), r.uvarint()
	frame := r.view()
	if r.err != nil {
		return nil, nil
	}
	out, err := c.inflate(id, nreq, nresp, frame)
	if err != nil {
		r.err, r.b = fmt.Errorf("%w (%w): raw bodies: %v", ErrCorrupt, errRecord, err), nil
		return nil, nil
	}
	req, resp = out[:nreq:nreq], out[nreq:]
	if nreq == 0 {
		req = nil
	}
	if nresp == 0 {
		resp = nil
	}
	return req, resp
}

// inflate returns the nreq+nresp bytes that frame (without its magic
// number) holds, made with dictionary id.
func (c *rawCodec) inflate(id, nreq, nresp uint64, frame []byte) ([]byte, error) {
	var d *rawDict
	if m := c.dicts.Load(); m != nil && id <= 1<<32-1 {
		d = (*m)[uint32(id)]
	}
	if d == nil {
		return nil, fmt.Errorf("no dictionary %d", id)
	}
	total := nreq + nresp
	if total < nreq || total/maxRawRatio > uint64(len(frame)) {
		return nil, fmt.Errorf("a frame of %d bytes cannot hold %d+%d bytes", len(frame), nreq, nresp)
	}
	dec, err := d.decoder()
	if err != nil {
		return nil, fmt.Errorf("dictionary %d: %v", id, err)
	}
	scratch := c.buf()
	defer c.putBuf(scratch)
	*scratch = append(append((*scratch)[:0], zstdMagic[:]...), frame...)
	out, err := dec.DecodeAll(*scratch, make([]byte, 0, total))
	if err != nil {
		return nil, fmt.Errorf("dictionary %d: %v", id, err)
	}
	if uint64(len(out)) != total {
		return nil, fmt.Errorf("dictionary %d: the frame holds %d bytes, not %d+%d", id, len(out), nreq, nresp)
	}
	return out, nil
}

// uvarintLen is the length of n as a uvarint.
func uvarintLen(n int) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], uint64(n))
}
