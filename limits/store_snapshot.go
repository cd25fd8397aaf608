package limits

import (
	"errors"
	"time"

	"github.com/shopspring/decimal"
)

// snapshot is the whole state of a FileStore, as its journal's first line.
type snapshot struct {
	Seq      uint64        `json:"seq"`
	Kill     *snapKill     `json:"kill,omitempty"`
	Counters []snapCounter `json:"counters,omitempty"`
	Tickets  []snapTicket  `json:"tickets,omitempty"`
	Strikes  []snapStrikes `json:"strikes,omitempty"`
}

type snapKill struct {
	Reason string `json:"reason"`
	T      int64  `json:"t"`
}

type snapCounter struct {
	Key     string          `json:"key"`
	W       int64           `json:"w,omitempty"`
	Sum     decimal.Decimal `json:"sum"` // gauges
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
	Orders    []string        `json:"orders,omitempty"`
	Parts     []snapPart      `json:"parts"`
}

// snapPart refers to a counter, and for windowed counters to an entry by
// its index among the counter's live entries (-1: the entry expired).
type snapPart struct {
	Key   string          `json:"key"`
	W     int64           `json:"w,omitempty"`
	Entry int             `json:"entry"`
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
	index := map[*entry]int{}
	for _, key := range sortedKeys(s.counters) {
		c := s.counters[key]
		sc := snapCounter{Key: key, W: int64(c.window)}
		if c.window == 0 {
			if c.sum.IsZero() {
				continue
			}
			sc.Sum = c.sum
		}
		for _, e := range c.entries[c.head:] {
			index[e] = len(sc.Entries)
			sc.Entries = append(sc.Entries, snapEntry{T: nanos(e.at), A: e.amount})
		}
		if c.window != 0 && len(sc.Entries) == 0 {
			continue
		}
		sn.Counters = append(sn.Counters, sc)
	}
	orders := map[*ticket][]string{}
	for k, t := range s.orders {
		orders[t] = append(orders[t], k.id)
	}
	for _, id := range sortedKeys(s.tickets) {
		t := s.tickets[id]
		st := snapTicket{ID: t.id, Owner: t.owner, T: nanos(t.at), Committed: t.committed, Open: t.open, Filled: t.filled, Orders: orders[t]}
		for _, p := range t.parts {
			sp := snapPart{Key: p.c.key, W: int64(p.c.window), Entry: -1, Gauge: p.gauge}
			if p.e != nil {
				if i, ok := index[p.e]; ok && !p.e.expired {
					sp.Entry = i
				}
			}
			st.Parts = append(st.Parts, sp)
		}
		sn.Tickets = append(sn.Tickets, st)
	}
	for _, key := range sortedKeys(s.strikes) {
		k := s.strikes[key]
		ss := snapStrikes{Key: key, N: k.n}
		for _, t := range k.times {
			ss.Times = append(ss.Times, nanos(t))
		}
		sn.Strikes = append(sn.Strikes, ss)
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
		c := s.counter(sc.Key, time.Duration(sc.W))
		if c.window == 0 {
			c.sum = sc.Sum
			continue
		}
		for _, se := range sc.Entries {
			c.entries = append(c.entries, &entry{at: fromNanos(se.T), amount: se.A})
			c.sum = c.sum.Add(se.A)
		}
	}
	for _, st := range sn.Tickets {
		t := &ticket{id: st.ID, owner: st.Owner, at: fromNanos(st.T), committed: st.Committed, open: st.Open, filled: st.Filled}
		for _, sp := range st.Parts {
			c := s.counter(sp.Key, time.Duration(sp.W))
			if c.window != time.Duration(sp.W) {
				return nil, errors.New("snapshot: counter " + sp.Key + " has two windows")
			}
			p := part{c: c, gauge: sp.Gauge}
			if c.window != 0 {
				if sp.Entry >= len(c.entries) {
					return nil, errors.New("snapshot refers to a missing entry")
				}
				if sp.Entry >= 0 {
					p.e = c.entries[sp.Entry]
				} else {
					p.e = &entry{expired: true}
				}
			}
			t.parts = append(t.parts, p)
		}
		s.tickets[t.id] = t
		for _, oid := range st.Orders {
			s.orders[orderKey{t.owner, oid}] = t
		}
	}
	for _, ss := range sn.Strikes {
		k := &strikes{n: ss.N}
		for _, t := range ss.Times {
			k.times = append(k.times, fromNanos(t))
		}
		s.strikes[ss.Key] = k
	}
	return s, nil
}
