package limits

import (
	"errors"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/shopspring/decimal"
)

// snapshot is the whole state of a FileStore, as its journal's first line.
type snapshot struct {
	Seq      uint64        `json:"seq"`
	Kill     *snapKill     `json:"kill,omitempty"`
	Counters []snapCounter `json:"counters,omitempty"`
	Tickets  []snapTicket  `json:"tickets,omitempty"`
	Strikes  []snapStrikes `json:"strikes,omitempty"`
	// FileStore's ties to outside evidence.
	Mark *audit.Anchor `json:"mark,omitempty"` // the audit log's head
	Gens []snapGen     `json:"gens,omitempty"` // generations (the keystore's)
}

type snapGen struct {
	Name string `json:"name"`
	Gen  uint64 `json:"gen"`
}

type snapKill struct {
	Reason string `json:"reason"`
	T      int64  `json:"t"`
}

// snapCounter is a counter; Base is the absolute index of its first live
// entry.
type snapCounter struct {
	Key     string          `json:"key"`
	W       int64           `json:"w,omitempty"`
	Sum     decimal.Decimal `json:"sum"` // gauges
	Base    uint64          `json:"base,omitempty"`
	Entries []snapEntry     `json:"entries,omitempty"`
}

type snapEntry struct {
	T int64           `json:"t"`
	A decimal.Decimal `json:"a"`
}

type snapTicket struct {
	ID        Ticket          `json:"id"`
	Owner     string          `json:"owner"`
	T         int64           `json:"t"`
	Committed bool            `json:"committed,omitempty"`
	Open      int             `json:"open,omitempty"`
	Filled    decimal.Decimal `json:"filled"`
	Closed    decimal.Decimal `json:"closed"`
	// Orders are the venue ids of a committed ticket's open orders, in
	// snapshots written before Tracked (read only).
	Orders []string `json:"orders,omitempty"`
	// Refs are a pending ticket's orders; Tracked a committed ticket's
	// open and unknown orders.
	Refs    []OrderRef    `json:"refs,omitempty"`
	Tracked []snapTracked `json:"tracked,omitempty"`
	Parts   []snapPart    `json:"parts"`
}

type snapTracked struct {
	OrderRef
	AtOnce decimal.Decimal `json:"at_once"`
}

// snapPart refers to a counter, and for rolling sums to an entry by its
// absolute index.
type snapPart struct {
	Key   string          `json:"key"`
	W     int64           `json:"w,omitempty"`
	Entry uint64          `json:"entry,omitempty"`
	Gauge decimal.Decimal `json:"gauge"`
}

type snapStrikes struct {
	Key   string  `json:"key"`
	N     int     `json:"n"`
	Times []int64 `json:"times,omitempty"`
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func takeSnapshot(s *state) *snapshot {
	sn := &snapshot{Seq: s.seq}
	if s.kill.Tripped {
		sn.Kill = &snapKill{Reason: s.kill.Reason, T: nanos(s.kill.At)}
	}
	for _, key := range sortedKeys(s.counters) {
		c := s.counters[key]
		sc := snapCounter{Key: key, W: c.window}
		if c.window == 0 {
			if c.sum.isZero() {
				continue
			}
			sc.Sum = c.sum.decimal()
		} else {
			sc.Base = c.base + uint64(c.head)
			for off := c.head; off < c.n; off++ {
				e := c.at(off)
				sc.Entries = append(sc.Entries, snapEntry{T: e.at, A: e.amount.decimal()})
			}
		}
		sn.Counters = append(sn.Counters, sc)
	}
	for _, id := range sortedKeys(s.tickets) {
		t := s.tickets[id]
		st := snapTicket{ID: t.id, Owner: t.owner, T: t.at, Committed: t.committed, Open: t.open, Filled: t.filled.decimal(), Closed: t.closed.decimal(), Refs: t.refs}
		for _, tr := range t.orders {
			st.Tracked = append(st.Tracked, snapTracked{OrderRef: tr.ref, AtOnce: tr.atOnce.decimal()})
		}
		for _, p := range t.parts {
			st.Parts = append(st.Parts, snapPart{Key: p.c.key, W: p.c.window, Entry: p.idx, Gauge: p.gauge.decimal()})
		}
		sn.Tickets = append(sn.Tickets, st)
	}
	for _, key := range sortedKeys(s.strikes) {
		k := s.strikes[key]
		sn.Strikes = append(sn.Strikes, snapStrikes{Key: key, N: k.n, Times: k.times})
	}
	return sn
}

func (sn *snapshot) restore() (*state, error) {
	s := newState()
	s.seq = sn.Seq
	if sn.Kill != nil {
		s.kill = KillState{Tripped: true, Reason: sn.Kill.Reason, At: fromNanos(sn.Kill.T)}
	}
	for _, sc := range sn.Counters {
		if _, dup := s.counters[sc.Key]; dup {
			return nil, errors.New("snapshot: counter " + sc.Key + " appears twice")
		}
		c := s.counter(sc.Key, sc.W)
		if c.window == 0 {
			c.sum = unitsOf(sc.Sum, true)
			continue
		}
		c.base = sc.Base
		for _, se := range sc.Entries {
			a := unitsOf(se.A, true)
			c.push(entry{at: se.T, amount: a})
			c.sum = c.sum.add(a)
		}
	}
	for _, st := range sn.Tickets {
		t := &ticket{id: st.ID, owner: st.Owner, at: st.T, committed: st.Committed, open: st.Open, filled: unitsOf(st.Filled, true), closed: unitsOf(st.Closed, true)}
		for _, sp := range st.Parts {
			c := s.counter(sp.Key, sp.W)
			if c.window != sp.W {
				return nil, errors.New("snapshot: counter " + sp.Key + " has two windows")
			}
			t.parts = append(t.parts, part{c: c, idx: sp.Entry, gauge: unitsOf(sp.Gauge, true)})
		}
		s.tickets[t.id] = t
		if !t.committed && len(st.Refs) > 0 {
			t.refs = st.Refs
			for _, r := range t.refs {
				if r.ClientID != "" {
					s.pending[orderKey{t.owner, r.ClientID}] = t
				}
			}
		}
		for _, sr := range st.Tracked {
			tr := &tracked{t: t, ref: sr.OrderRef, atOnce: unitsOf(sr.AtOnce, true)}
			t.orders = append(t.orders, tr)
			s.index(tr)
		}
		if len(st.Orders) == 1 {
			// A snapshot written before Tracked: one order's at-once fill
			// was the ticket's.
			tr := &tracked{t: t, ref: OrderRef{ID: st.Orders[0]}, atOnce: t.filled}
			t.filled, t.orders = units{}, append(t.orders, tr)
			s.index(tr)
		} else {
			for _, oid := range st.Orders {
				tr := &tracked{t: t, ref: OrderRef{ID: oid}}
				t.orders = append(t.orders, tr)
				s.index(tr)
			}
		}
	}
	for _, ss := range sn.Strikes {
		s.strikes[ss.Key] = &strikes{n: ss.N, times: ss.Times}
	}
	return s, nil
}
