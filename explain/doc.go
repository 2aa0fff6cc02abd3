// Package explain says what drives a window of decisions (SPEC section
// 11): which dimension values, alone or in pairs, are over-represented in
// the window against a baseline (ModeVolume), among the window's denies
// against its allows (ModeDeny), or among its fraud-labelled decisions
// against its legit-labelled ones (ModeLabel). It is pure: it reads counts, or decisions
// held in memory, and imports only decision.
//
// # Inputs
//
// Each side is a Counts: the number of decisions and, per dimension
// (decision.Dimension), the number of decisions with each value. Counts
// of disjoint sets add up (Counts.Merge), so collectors and rollup periods
// can be counted apart; a rollup that keeps only its top values per period
// says how much it left out (Tally.Rest, Tally.RestMax), and the analysis
// then works with bounds: the window's counts from below, the baseline's
// from above, which only makes it more cautious.
//
// # The test of one value
//
// For a value with a of the window's Nw decisions and b of the baseline's
// Nb, the 2x2 table is
//
//	            has it     has not
//	window      a          Nw - a
//	baseline    b          Nb - b
//
// and the G-test of independence (G = 2 Σ O ln(O/E), with Williams'
// correction) asks whether the value's share of the window, a/Nw, differs
// from its share of the baseline, b/Nb. The table holds raw counts, not
// counts rescaled to a common width: normalising the two rates for their
// widths, (a/w)/(Nw/w) = a/Nw, the widths cancel, and a share compares
// the value with the rest of the traffic. A spike spread evenly over every
// value raises every rate but no share, and yields no driver. Rescaling a
// side's counts instead would change the sample size the test believes
// in, and its p-values with it. p is one-sided: half the chi-square(1)
// tail of G/q when a/Nw > b/Nb (the signed root of G is a standard normal
// deviate), and 1 for a value that is not over-represented (its exact
// one-sided p is at least 1/2; 1 is conservative, and changes no q-value
// below 1/2).
//
// ModeDeny builds the same table with the window's denies in place of the
// window and its allows in place of the baseline; ModeLabel with its
// fraud and its legit decisions (Mode.Side says which side a decision is
// on).
//
// # Excess, ranking and the floors
//
// Drivers are ranked by excess, the window's events beyond what the
// baseline predicts: a - b × s, where s = window width / baseline width in
// ModeVolume (the baseline's rate over the window's width) and s = Nw/Nb,
// denies over allows, in ModeDeny (the value's allows at the window's deny
// odds). Excess is linear in the counts: over the values of a dimension
// with one value per decision it adds up to the window's total excess,
// Nw - Nb × s, so a driver's excess is its part of the spike.
//
// Every value whose counts on the two sides together reach the minimum
// count is tested (a value below it can never become a driver; the filter
// looks only at the table's margin a + b, not at how it splits between the
// sides, so it does not favour values that look over-represented), and so
// is every candidate pair. All these tests are corrected
// together by Benjamini-Hochberg. A driver has q <= Alpha, at least
// MinCount window events, a positive excess, and an effect of ratio
// (a/Nw)/(b/Nb) >= 1.5 or a share at least two points above the baseline's.
//
// # Pairs and leave-one-out
//
// The candidates, the singles that pass every floor at their raw p-value
// (largest excess first, eight by default), are tested in pairs. A pair
// stands for its two values when both are drivers and it holds at least
// 80% of the excess of each: then they are mostly the same events, and
// "ip24=203.0.113.0/24 with ua_family=python-requests" names them better
// than two drivers that count them twice.
//
// The leave-one-out check removes a driver's events from both sides: in
// ModeVolume the window's excess becomes Excess_total - Excess_driver, and
// Driver.Remaining is that as a fraction of the total; in ModeDeny the
// window's deny rate without the driver's decisions is
// Driver.DenyRateWithout, in ModeLabel its fraud rate is
// Driver.FraudRateWithout.
//
// # Use
//
// Volume, Deny and Label do everything from decisions in memory. With counts from
// rollups: Prepare, then count the pairs of Analysis.Candidates where the
// decisions are at hand (zero PairCounts are valid, and only cautious),
// then Analysis.Explain. Series bins a driver's matches for a sparkline.
package explain
