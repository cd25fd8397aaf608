//go:build !unix

package lockedfile

import "os"

// identity is the file's os.FileInfo where no inode number is available.
type identity struct{ fi os.FileInfo }

// lock is a no-op where flock is unavailable: one process at a time must
// open a file.
func lock(*os.File) error { return nil }

func fileIdentity(f *os.File) (identity, uint64, error) {
	fi, err := f.Stat()
	if err != nil {
		return identity{}, 0, err
	}
	return identity{fi}, 1, nil
}

func pathIdentity(path string) (identity, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return identity{}, err
	}
	return identity{fi}, nil
}

func sameID(a, b identity) bool { return os.SameFile(a.fi, b.fi) }
