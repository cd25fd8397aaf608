//go:build !unix

package limits

import "os"

// lockFile is a no-op where advisory locks are not available.
func lockFile(f *os.File) error { return nil }

// syncDir is a no-op where directories cannot be synced.
func syncDir(dir string) error { return nil }
