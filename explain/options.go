package explain

import "fmt"

// Options tune an analysis. A zero field takes its default.
type Options struct {
	// Alpha is the false discovery rate: every driver has a q-value (a
	// Benjamini-Hochberg adjusted p-value) of at most Alpha. When nothing
	// has changed, a driver is reported at all with probability about
	// Alpha, so the default is 0.01: one quiet window in a hundred shows a
	// spurious driver, not one in twenty.
	Alpha float64
	// MinCount is the fewest window events (denies in ModeDeny) a driver
	// has. Values whose window and baseline counts together fall below it
	// can never reach it and are not tested. Default 10.
	MinCount uint64
	// MinRatio and MinShare are the effect floor: a driver's share of the
	// window is at least MinRatio times its share of the baseline, or at
	// least MinShare (a fraction: 0.02 is two points) above it. Defaults
	// 1.5 and 0.02.
	MinRatio, MinShare float64
	// Candidates is how many single values, the largest excess first, are
	// tested in pairs. Default 8 (28 pairs).
	Candidates int
	// Cover is the part of each of its two values' excess a pair must hold
	// to stand for both as one driver. Default 0.8.
	Cover float64
	// MaxDrivers bounds how many drivers are reported. Default 20.
	MaxDrivers int
}

// withDefaults fills zero fields and checks the others.
func (o Options) withDefaults() (Options, error) {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Alpha, 0.01)
	def(&o.MinRatio, 1.5)
	def(&o.MinShare, 0.02)
	def(&o.Cover, 0.8)
	if o.MinCount == 0 {
		o.MinCount = 10
	}
	if o.Candidates == 0 {
		o.Candidates = 8
	}
	if o.MaxDrivers == 0 {
		o.MaxDrivers = 20
	}
	switch {
	case !(o.Alpha > 0 && o.Alpha < 1):
		return o, fmt.Errorf("alpha %v: want a value between 0 and 1", o.Alpha)
	case !(o.MinRatio >= 1):
		return o, fmt.Errorf("minimum ratio %v: want at least 1", o.MinRatio)
	case !(o.MinShare > 0 && o.MinShare <= 1):
		return o, fmt.Errorf("minimum share change %v: want a fraction above 0", o.MinShare)
	case !(o.Cover > 0 && o.Cover <= 1):
		return o, fmt.Errorf("pair cover %v: want a fraction above 0", o.Cover)
	case o.Candidates < 0 || o.MaxDrivers < 0:
		return o, fmt.Errorf("candidates %d, max drivers %d: want positive numbers", o.Candidates, o.MaxDrivers)
	}
	return o, nil
}
