package keystore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Steps of an atomic write, named for failure injection in tests.
const (
	stepWrite   = "write"
	stepSync    = "sync"
	stepRename  = "rename"
	stepSyncDir = "syncdir"
)

// writeAtomic replaces (or, with create, creates) the file at path with
// data: it writes a temporary file with mode 0600 in the same directory,
// syncs it, renames it over path (or links it to path, which fails if path
// exists) and syncs the directory. Until the rename the old file is
// untouched; on any error before it the temporary file is removed. hook,
// if not nil, is called before each step and its error aborts the write.
//
// replaced reports whether the file at path now holds data; it can be true
// with an error when only syncing the directory failed.
func writeAtomic(path string, data []byte, create bool, hook func(step string) error) (replaced bool, err error) {
	step := func(name string) error {
		if hook == nil {
			return nil
		}
		return hook(name)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return false, fmt.Errorf("keystore: write %s: %w", path, err)
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if !renamed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	fail := func(err error) error { return fmt.Errorf("keystore: write %s: %w", path, err) }
	if err := f.Chmod(0o600); err != nil {
		return false, fail(err)
	}
	if err := step(stepWrite); err != nil {
		return false, fail(err)
	}
	if _, err := f.Write(data); err != nil {
		return false, fail(err)
	}
	if err := step(stepSync); err != nil {
		return false, fail(err)
	}
	if err := f.Sync(); err != nil {
		return false, fail(err)
	}
	if err := f.Close(); err != nil {
		return false, fail(err)
	}
	if err := step(stepRename); err != nil {
		return false, fail(err)
	}
	if create {
		if err := os.Link(tmp, path); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return false, fmt.Errorf("%w: %s: choose another path or remove it", ErrExists, path)
			}
			return false, fail(err)
		}
		renamed = true
		os.Remove(tmp)
	} else {
		if err := os.Rename(tmp, path); err != nil {
			return false, fail(err)
		}
		renamed = true
	}
	if err := step(stepSyncDir); err != nil {
		return true, fmt.Errorf("keystore: %s was replaced but its directory could not be synced: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return true, fmt.Errorf("keystore: %s was replaced but its directory could not be synced: %w", path, err)
	}
	return true, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// readPrivate reads a keystore file after checking, on the open file, that
// it is a regular file that group and others cannot access.
func readPrivate(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	defer f.Close()
	return readOpen(f, path)
}

// readOpen reads an open keystore file from its start, with the checks of
// readPrivate.
func readOpen(f *os.File, path string) ([]byte, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("keystore: read %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, &FormatError{Path: path, Offset: -1, Reason: "not a regular file"}
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, &PermissionError{Path: path, Mode: fi.Mode()}
	}
	data := make([]byte, 0, fi.Size()+1)
	for {
		n, err := f.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, fmt.Errorf("keystore: read %s: %w", path, err)
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
	}
}
