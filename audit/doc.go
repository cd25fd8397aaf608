// Package audit is keyfence's tamper-evident decision log: every request
// the guard allows or denies is appended as one Record to a hash-chained
// JSON Lines file before anything is signed, and Verify checks that chain.
//
// # Records
//
// A Record holds the time, the credential name, the venue, the endpoint
// class and route, a one-line summary of the intent, the decision (Allow
// or Deny), the rule and reason of a denial, the SHA-256 of the bytes that
// were (or would have been) signed and the SHA-256 of the policy in force.
// It never holds a secret, a signature or a token: callers pass none, and
// the exchange layer only puts hashes and summaries there. Nothing in this
// package can tell a secret from other text, so the duty is the caller's.
//
// # The chain
//
// Each record is one line: the JSON encoding of the Record by Go's
// encoding/json (fields in declaration order, no insignificant space,
// strings escaped as encoding/json escapes them, Time in RFC 3339 with
// nanoseconds in UTC, hash last), followed by "\n". The Log numbers
// records with Seq, from 1, without gaps, across all files of the log.
// Prev is the Hash of the record before, or the zero Digest for record 1.
// A Chain numbers, links and hashes records the same way in memory,
// without a file.
//
// A Record carries its digests (PayloadSHA256, PolicySHA256, Prev, Hash)
// in binary, as Digest values. The line writes each as 64 lowercase hex
// digits, and leaves out a zero PayloadSHA256 or PolicySHA256 (no digest);
// Prev and Hash are always written, record 1's Prev as 64 "0". A line
// whose digest is not 64 lowercase hex digits does not decode: Verify
// reports its line.
//
// Hash is the SHA-256 of a binary encoding of the record's other fields,
// so that a verifier in any language can recompute it from the decoded
// fields without reproducing Go's JSON. Integers are big-endian; uvarint
// is the unsigned LEB128 varint of encoding/binary (AppendUvarint). The
// input is, in this order:
//
//  1. the 16 ASCII bytes "keyfence-audit-1" (the definition and its
//     version);
//  2. Seq, uint64;
//  3. Time: Unix seconds, int64; nanoseconds within the second, uint32;
//     the zone offset east of UTC in seconds, int32 (0 for "Z"), as the
//     line's time carries it;
//  4. Credential, Venue, Class, Route, Intent, Decision, Rule, Reason,
//     each as uvarint(length in bytes) followed by its UTF-8 bytes (an
//     absent field is the empty string: the single byte 0);
//  5. PayloadSHA256 and PolicySHA256, each as the byte 0 when absent (the
//     zero Digest), or the byte 1 followed by its 32 bytes;
//  6. Prev: the byte 1 followed by its 32 bytes (32 zero bytes for
//     record 1).
//
// The Hash field itself is not covered. Record.ComputeHash computes the
// hash; TestHashKnownAnswer builds one input byte by byte.
//
// A verifier decodes each line, checks that it is in canonical form (the
// line is exactly the encoding/json encoding of the record it decodes
// to: no duplicate or unknown keys, no other spacing, escaping or
// spelling of the time), recomputes the hash and compares it with the
// line's, then checks Seq and Prev against the line before. The
// canonical-form check is what ties every byte of the line to the hash;
// a verifier that skips it still detects every change to a field's
// value.
//
// # What verification proves
//
// Verify and VerifyFiles read a log line by line and stop at the first line
// that does not decode to a record carrying its own hash in canonical form
// (an edited record), whose Seq is not one more than the line before (a
// removed, inserted or reordered record), or whose Prev is not the Hash of
// the line before. They report a *ChainError naming the file, line and Seq;
// errors.Is(err, ErrBroken) holds for it. A last line without its newline
// (a truncated record) is reported too.
//
// The hash is a plain SHA-256, not a MAC: the chain alone shows that the
// file is consistent with itself, not who wrote it. Someone who can
// rewrite the file can remove a record and re-chain the rest with this
// package, and the file alone still verifies. Two things close that:
//
//   - A keyed chain (WithMACKey, Verifier.Key): each record also carries
//     MAC = HMAC-SHA256(key, "keyfence-audit-mac-1" || Hash), written as
//     "mac" after "hash" (lines of an unkeyed log are unchanged). The key
//     is held by a signer backend (a keystore entry, an HSM key) and never
//     leaves it. Since Hash covers Prev, a valid MAC vouches for the chain
//     up to its record: records cannot be removed, inserted or edited
//     without the key. A keyed log is keyed from its first record; Open
//     refuses to append to it without its key.
//   - A checkpoint: record Log.Head somewhere the log's writer cannot
//     change (another host, a ticket, a signed message; a limits state
//     tied to the log records it too, see limits.StateAuditHead) and pass
//     it to a Verifier as a Checkpoint: verification then fails if the
//     record with that Seq has another hash or is missing. That is what
//     detects records cut from the end, which a keyed chain alone cannot.
//
// An inserted record that a forger made consistent with its predecessor is
// reported at the line after it, whose Prev no longer matches.
//
// # Durability
//
// Append returns only after the record is written; if it cannot write, it
// returns an error wrapping ErrWrite (a *WriteError) and the caller must
// refuse the request. A failed write never forks the chain: the chain head
// advances only when the whole line was written, a partly written line is
// truncated away, and if that truncation fails the Log refuses every
// further Append until it is reopened.
//
// With SyncEvery (the default) Append fsyncs the file before it returns,
// so an accepted record survives a power loss. Concurrent Appends share
// fsyncs (group commit): those that write while an fsync is in flight wait
// for it and are covered by the next one. An fsync failure is returned to
// every Append whose record it leaves unconfirmed; those records are cut
// from the file, the head goes back to the last confirmed record, and the
// Log refuses further appends until reopened.
// SyncInterval(d) fsyncs in the background every d and lets Append return
// as soon as the operating system has the line: faster, but a machine
// crash can lose up to d of records. NoSync leaves flushing to the
// operating system. Every mode fsyncs on Sync, rotation and Close. See
// BenchmarkAppendSync and BenchmarkAppendNoSync for the cost.
//
// Open resumes the chain from the last record on disk after checking its
// hash (all files with VerifyOnOpen). A corrupt or torn last line fails
// Open instead of starting a new chain; RepairTornTail cuts a torn last
// line (a crash during a write) so the log can continue. Only one Log may
// append to a path at a time: Open locks (flock) the active file itself,
// after following symbolic links, so every path to the file meets the
// lock. Before every write the Log checks that the file it holds is still
// the one at its path; a log file deleted or replaced while open fails the
// Append with ErrReplaced (and ErrWrite), and every later one too.
//
// # Rotation
//
// When appending a record would make the active file larger than the
// maximum size (WithMaxSize, default DefaultMaxSize), the Log fsyncs and
// renames it to path.000001, path.000002, ... (the next unused number,
// six or more digits) and starts a new, empty file at path. The chain
// continues: the first record of the new file carries the Hash of the
// last record of the previous one as Prev. Files lists a log's files in
// chain order (rotated files by number, then path), which is the order
// VerifyFiles expects; a missing middle file breaks the chain at the first
// line of the file after it. Deleting or archiving the oldest files is
// possible: verify the rest with Verifier.After or Verifier.AnyStart.
package audit
