//go:build !unix

package limits

// syncDir is a no-op where directories cannot be synced.
func syncDir(dir string) error { return nil }
