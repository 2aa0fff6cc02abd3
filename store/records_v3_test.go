package store

import "github.com/riskwatch/riskwatch/decision"

// encodeDecisionV3 is schema 5's decision encoder: records of version 3,
// every string in the record, scores as 8-byte floats.
func encodeDecisionV3(b []byte, d *decision.Decision, raw *rawCodec) []byte {
	e := encoder{b}
	e.byte1(decisionV3)
	e.str(d.UserID)
	e.varint(clampNanos(d.EventTime))
	var flags byte
	if d.ClockSkew {
		flags |= flagClockSkew
	}
	e.byte1(flags)
	e.str(d.EventID)
	e.time(d.ReceivedAt)
	e.str(d.Source)
	e.str(d.Type)
	e.str(d.Status)
	e.str(d.Email)
	e.str(d.IP)
	e.str(d.UserAgent)
	e.str(d.Country)
	e.f64(d.Risk)
	e.f64(d.AccountAbuse)
	e.f64(d.AccountTakeover)
	e.f64(d.Bot)
	e.uvarint(uint64(len(d.Signals)))
	for _, s := range d.Signals {
		e.str(s)
	}
	e.str(d.Policy)
	e.byte1(byte(d.Action.Index()))
	e.byte1(byte(d.ShadowAction.Index() + 1))
	e.str(d.ShadowRule)
	e.str(d.Error)
	e.varint(int64(d.HTTPStatus))
	e.varint(int64(d.Latency))
	e.varint(int64(d.Attempts))
	if raw == nil {
		e.uvarint(rawPlain)
		e.bytes(d.Request)
		e.bytes(d.Response)
		return e.b
	}
	return raw.appendRaw(e.b, d.Request, d.Response)
}
