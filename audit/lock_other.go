//go:build !unix

package audit

import "os"

// lockFile is a no-op where flock is unavailable: the caller must make sure
// only one Log appends to a path.
func lockFile(*os.File) error { return nil }
