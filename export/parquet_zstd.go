package export

import (
	"sync"

	"github.com/klauspost/compress/zstd"
	pqzstd "github.com/parquet-go/parquet-go/compress/zstd"
)

// pageZstd is parquet-go's ZSTD codec with one shared encoder sized for
// Parquet pages. parquet-go's own pools encoders with zstd's default 8 MiB
// window and 16 MiB of history each, which doubled an export's peak heap
// (99 against 50 MiB in BenchmarkParquetExportMemory); pages are at most
// a few hundred KiB, so a 1 MiB window compresses them to the same size.
// Decoding is parquet-go's.
type pageZstd struct {
	pqzstd.Codec
}

// pageEncoder is created once; EncodeAll may be called concurrently.
var pageEncoder = sync.OnceValue(func() *zstd.Encoder {
	e, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(1<<20),
		zstd.WithLowerEncoderMem(true),
		zstd.WithZeroFrames(true),
		zstd.WithEncoderCRC(false),
	)
	if err != nil {
		panic(err) // the options are constant
	}
	return e
})

// Encode compresses src into dst as one zstd frame.
func (*pageZstd) Encode(dst, src []byte) ([]byte, error) {
	return pageEncoder().EncodeAll(src, dst[:0]), nil
}
