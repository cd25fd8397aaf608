package audit

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// checkRFC3339Nano holds appendRFC3339Nano to time.Time.AppendFormat with
// time.RFC3339Nano, and its refusals to years outside 0..9999.
func checkRFC3339Nano(t *testing.T, tm time.Time) {
	t.Helper()
	_, off := tm.Zone()
	got, ok := appendRFC3339Nano([]byte("x"), tm, off)
	if y := tm.Year(); y < 0 || y > 9999 {
		if ok || string(got) != "x" {
			t.Fatalf("appendRFC3339Nano(%v) accepted year %d: %q", tm, y, got)
		}
		return
	}
	want := tm.AppendFormat([]byte("x"), time.RFC3339Nano)
	if !ok || string(got) != string(want) {
		t.Fatalf("appendRFC3339Nano = %q %v, AppendFormat = %q", got, ok, want)
	}
}

func TestAppendRFC3339NanoMatchesFormat(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("e", 5*3600+30*60), time.FixedZone("w", -(23*3600 + 59*60)),
		time.FixedZone("s", 17), time.FixedZone("ns", -3601), time.FixedZone("far", 30*3600), time.FixedZone("farw", -30*3600)}
	if ny, err := time.LoadLocation("America/New_York"); err == nil {
		zones = append(zones, ny)
	}
	edges := []time.Time{
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1969, 12, 31, 23, 59, 59, 1, time.UTC),
		time.Date(2000, 2, 29, 12, 0, 0, 100, time.UTC), time.Date(1900, 2, 28, 0, 0, 0, 0, time.UTC),
		time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(400, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 24, 12, 0, 0, 123456789, time.UTC), time.Date(2026, 11, 24, 12, 0, 0, 120000000, time.UTC),
		{}, time.Unix(1<<62, 0), time.Unix(-1<<62, 0),
	}
	for _, tm := range edges {
		for _, z := range zones {
			checkRFC3339Nano(t, tm.In(z))
		}
	}
	rng := rand.New(rand.NewPCG(11, 12))
	const from, to = -62167219200 - 86400*2, 253402300800 + 86400*2 // 0000-01-01 and 10000-01-01, and two days around
	for range 200000 {
		tm := time.Unix(from+rng.Int64N(to-from), rng.Int64N(1e9))
		if rng.IntN(4) == 0 {
			tm = tm.Truncate(time.Duration(rng.IntN(4)+1) * time.Second / 4)
		}
		checkRFC3339Nano(t, tm.In(zones[rng.IntN(len(zones))]))
	}
}

func TestCivilDateEveryDay(t *testing.T) {
	// Day by day over the whole domain, 0000-01-01 to 9999-12-31, against
	// package time.
	if d := time.Unix(firstDay*86400, 0).UTC(); d.Format(time.DateOnly) != "0000-01-01" {
		t.Fatalf("firstDay is %s", d.Format(time.DateOnly))
	}
	if d := time.Unix(lastDay*86400, 0).UTC(); d.Format(time.DateOnly) != "9999-12-31" {
		t.Fatalf("lastDay is %s", d.Format(time.DateOnly))
	}
	for days := int64(firstDay); days <= lastDay; days++ {
		y, m, dd := civilDate(days)
		d := time.Unix(days*86400, 0).UTC()
		if wy, wm, wd := d.Date(); int(y) != wy || int(m) != int(wm) || int(dd) != wd {
			t.Fatalf("civilDate(%d) = %d-%d-%d, want %s", days, y, m, dd, d.Format(time.DateOnly))
		}
	}
}

func FuzzRFC3339Nano(f *testing.F) {
	f.Add(int64(1764000000), int64(123456789), 0)
	f.Add(int64(-62167219200), int64(0), -3601)
	f.Add(int64(253402300799), int64(999999999), 86399)
	f.Fuzz(func(t *testing.T, sec, nsec int64, off int) {
		if off <= -24*3600 || off >= 24*3600 || nsec < 0 || nsec >= 1e9 || sec > 1<<62 || sec < -1<<62 {
			return
		}
		name := strings.Repeat("z", 1+off&3)
		checkRFC3339Nano(t, time.Unix(sec, nsec).In(time.FixedZone(name, off)))
	})
}

// TestDigits8 holds digits8 to strconv on every value of each half with
// edge values of the other half: the halves are computed in lanes that
// must not disturb each other.
func TestDigits8(t *testing.T) {
	check := func(v uint32) {
		d := digits8(v)
		var got [8]byte
		for i := range got {
			got[i] = byte(d>>(8*i)) + '0'
		}
		if want := fmt.Sprintf("%08d", v); string(got[:]) != want {
			t.Fatalf("digits8(%d) = %q, want %q", v, got, want)
		}
	}
	edges := []uint32{0, 1, 9, 10, 99, 100, 999, 1000, 4999, 5000, 9899, 9900, 9990, 9999}
	for half := range uint32(10000) {
		for _, e := range edges {
			check(half*10000 + e)
			check(e*10000 + half)
		}
	}
}
