package audit

import "time"

// Decision values of a Record.
const (
	Allow = "allow" // the request was signed
	Deny  = "deny"  // the request was refused; nothing was signed
)

// Record is one decision. It never holds a secret, a signature or a token:
// the request is identified by the SHA-256 of the bytes that were (or would
// have been) signed.
//
// Seq, Prev and Hash are set by the Log when the record is appended.
type Record struct {
	Seq           uint64    `json:"seq"`
	Time          time.Time `json:"time"`
	Credential    string    `json:"credential"`
	Venue         string    `json:"venue"`
	Class         string    `json:"class"`            // endpoint class: public, read, trade, cancel, transfer, withdraw, keys
	Route         string    `json:"route,omitempty"`  // "POST /api/v3/order"
	Intent        string    `json:"intent,omitempty"` // "BUY LIMIT 0.01 BTCUSDT @ 50000"
	Decision      string    `json:"decision"`         // Allow or Deny
	Rule          string    `json:"rule,omitempty"`   // the rule that denied
	Reason        string    `json:"reason,omitempty"` // one line, no secrets
	PayloadSHA256 string    `json:"payload_sha256,omitempty"`
	PolicySHA256  string    `json:"policy_sha256,omitempty"`
	Prev          string    `json:"prev"` // Hash of the previous record; 64 zeros for the first
	Hash          string    `json:"hash"` // SHA-256 over this record with Hash empty
}
