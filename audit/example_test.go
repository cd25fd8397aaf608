package audit_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/keyfence/keyfence/audit"
)

func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "audit-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "audit.jsonl")

	log, err := audit.Open(ctx, path)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range []*audit.Record{
		{Credential: "bot-main", Venue: "binance", Class: "trade", Route: "POST /api/v3/order",
			Intent: "BUY LIMIT 0.01 BTCUSDT @ 50000", Decision: audit.Allow},
		{Credential: "bot-main", Venue: "binance", Class: "withdraw", Route: "POST /sapi/v1/capital/withdraw/apply",
			Decision: audit.Deny, Rule: "class", Reason: "withdrawals are not allowed"},
	} {
		if err := log.Append(ctx, r); err != nil {
			fmt.Println("refuse the request:", err)
			return
		}
		fmt.Println(r.Seq, r.Decision, r.Prev.IsZero())
	}
	head := log.Head() // keep this somewhere the log's writer cannot change
	if err := log.Close(); err != nil {
		fmt.Println(err)
		return
	}

	files, err := audit.Files(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	v := audit.Verifier{Checkpoints: []audit.Anchor{head}}
	rep, err := v.VerifyFiles(ctx, files...)
	fmt.Println(rep.Records, "records verified, head at seq", rep.Last.Seq, err)
	// Output:
	// 1 allow true
	// 2 deny false
	// 2 records verified, head at seq 2 <nil>
}

func ExampleVerify() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "audit-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "audit.jsonl")

	log, err := audit.Open(ctx, path)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, intent := range []string{"BUY 1", "BUY 2", "BUY 3"} {
		if err := log.Append(ctx, &audit.Record{Credential: "c", Venue: "v", Class: "trade", Intent: intent, Decision: audit.Allow}); err != nil {
			fmt.Println(err)
			return
		}
	}
	log.Close()

	// Someone edits the second record.
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	tampered := strings.Replace(string(b), "BUY 2", "BUY 9", 1)

	_, err = audit.Verify(ctx, strings.NewReader(tampered))
	fmt.Println(errors.Is(err, audit.ErrBroken))
	fmt.Println(err)
	// Output:
	// true
	// audit: chain broken at line 2 (seq 2): hash does not match the record: the record was edited; treat the log as tampered with and investigate
}

// A Chain links records in memory, as a Log does before it writes them:
// handy where decisions need a chain but no file, such as a bot's tests.
func ExampleChain() {
	var c audit.Chain
	ctx := context.Background()
	for _, d := range []string{audit.Allow, audit.Deny} {
		r := &audit.Record{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Credential: "bot", Venue: "binance",
			Class: "trade", Route: "POST /api/v3/order", Decision: d}
		if err := c.Append(ctx, r); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(r.Seq, r.Decision, r.Prev.String()[:8], r.Hash.String()[:8])
	}
	fmt.Println(c.Head().Seq)
	// Output:
	// 1 allow 00000000 641c860b
	// 2 deny 641c860b 13e17593
	// 2
}

// A Digest is a SHA-256 in binary; its text form, in the log's lines and
// in checkpoints, is 64 lowercase hex digits.
func ExampleParseDigest() {
	head := "seq 2 hash 641c860b" // only part of a hash: refused
	if _, err := audit.ParseDigest(head[len("seq 2 hash "):]); err != nil {
		fmt.Println(errors.Is(err, audit.ErrInvalidRecord))
	}
	d := audit.Digest(sha256.Sum256([]byte("signed bytes")))
	back, err := audit.ParseDigest(d.String())
	fmt.Println(back == d, err, d.IsZero(), audit.Digest{}.IsZero())
	// Output:
	// true
	// true <nil> false true
}
