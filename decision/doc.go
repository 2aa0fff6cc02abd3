// Package decision is riskwatch's domain, without I/O: a Decision (one
// event as Safe-e scored it), its Action and Scores, the aggregates the
// views and analyses share (minute counts, histograms, what-if matrices,
// user summaries), the filter language, user agent classification and the
// account takeover chain. Every other package may import it; it imports
// nothing of the project.
package decision
