package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/riskwatch/riskwatch/export"
)

// errParquetNeedsOut refuses Parquet on stdout unless asked for by name.
var errParquetNeedsOut = errors.New("--format parquet needs --out FILE: Parquet is a binary file whose index is written at its end, " +
	"so a terminal cannot show it and a pipe cannot be read as it comes (give --out - to write it to stdout anyway)")

// checkExportOut checks --out against the format before anything is opened:
// NDJSON and CSV go to stdout by default, Parquet only to a file or to an
// explicit "-".
func checkExportOut(f export.Format, out string) error {
	if f == export.Parquet && out == "" {
		return errParquetNeedsOut
	}
	return nil
}

// exportOutput is where an export goes: stdout, or a file that appears only
// complete. It is written to a temporary file beside its path, renamed over
// the path by commit, and removed by abort, so a failed or interrupted
// export leaves any earlier file at that path as it was and no half-written
// one (a Parquet file without its footer is unreadable).
type exportOutput struct {
	io.Writer
	tmp  *os.File // nil for stdout
	path string
}

// openExportOutput opens --out: stdout for "" and "-", otherwise a new file
// with mode 0600, as the database has (it holds the same personal data).
func openExportOutput(out string, stdout io.Writer) (*exportOutput, error) {
	if out == "" || out == "-" {
		return &exportOutput{Writer: stdout}, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("--out %s: %w", out, err)
	}
	return &exportOutput{Writer: tmp, tmp: tmp, path: out}, nil
}

// commit moves the complete file to its path.
func (o *exportOutput) commit() error {
	if o.tmp == nil {
		return nil
	}
	tmp := o.tmp
	o.tmp = nil
	err := tmp.Sync()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), o.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", o.path, err)
	}
	return nil
}

// abort removes the temporary file unless commit has run.
func (o *exportOutput) abort() {
	if o.tmp != nil {
		o.tmp.Close()
		os.Remove(o.tmp.Name())
		o.tmp = nil
	}
}
