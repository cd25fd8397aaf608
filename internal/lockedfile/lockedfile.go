// Package lockedfile opens the files keyfence keeps its evidence in (the
// limits state, the audit log, the keystore) so that one process at a time
// owns each file, and so that the owner notices when the file it holds is
// no longer the one at its path.
//
// The lock is an advisory flock(2) on the opened file itself, not on a
// side file: removing a lock file cannot admit a second writer, and a path
// that reaches the file through a symbolic link meets the same lock. Paths
// are resolved (symbolic links followed) once, when the file is opened;
// writes replace the target, never the link.
//
// Check, called before every write, compares the open file with the file
// at its path: same device and inode, and still linked (nlink > 0). A file
// that was deleted, renamed away or replaced fails with ErrReplaced, and
// the caller fails closed.
package lockedfile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// ErrLocked reports that another process (or another open handle in this
// one) holds the file's lock.
var ErrLocked = errors.New("file is locked by another process")

// ErrReplaced reports that the file at the path is no longer the file that
// was opened: it was deleted, renamed or replaced.
var ErrReplaced = errors.New("file was deleted or replaced since it was opened")

// File is an open, locked file and the resolved path it was opened at.
type File struct {
	*os.File
	path string
	id   identity
}

// Path returns the resolved path.
func (f *File) Path() string { return f.path }

// Resolve follows the symbolic links of path. A path that does not exist
// resolves its directory and keeps its base name.
func Resolve(path string) (string, error) {
	p, err := filepath.EvalSymlinks(path)
	if err == nil {
		return p, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return "", fmt.Errorf("%s is a symbolic link to a missing file: remove the link or create its target", path)
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(path))
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.Base(path)), nil
}

// Open opens the existing file at the resolved path with flag (O_CREATE is
// not allowed: create files with Adopt), takes its lock without waiting
// and checks that the locked file is still the one at path. A file that
// was replaced between the open and the lock (an atomic rewrite by its
// previous owner) is opened again. It fails with an error wrapping
// fs.ErrNotExist when there is no file, or ErrLocked.
func Open(path string, flag int) (*File, error) {
	for range 8 {
		f, err := os.OpenFile(path, flag&^os.O_CREATE, 0)
		if err != nil {
			return nil, err
		}
		if err := lock(f); err != nil {
			f.Close()
			return nil, err
		}
		lf, err := adopt(f, path)
		if errors.Is(err, ErrReplaced) {
			f.Close()
			continue
		}
		if err != nil {
			f.Close()
			return nil, err
		}
		return lf, nil
	}
	return nil, fmt.Errorf("%s: %w repeatedly while opening it", path, ErrReplaced)
}

// Lock takes f's lock without waiting, for a file about to be renamed or
// linked into place (so that it is locked from the moment it has its
// name). It fails with ErrLocked.
func Lock(f *os.File) error { return lock(f) }

// Adopt records f, already locked with Lock, as the file at path, and
// checks that it is.
func Adopt(f *os.File, path string) (*File, error) { return adopt(f, path) }

func adopt(f *os.File, path string) (*File, error) {
	id, nlink, err := fileIdentity(f)
	if err != nil {
		return nil, err
	}
	lf := &File{File: f, path: path, id: id}
	if nlink == 0 {
		return nil, ErrReplaced
	}
	if err := lf.checkPath(); err != nil {
		return nil, err
	}
	return lf, nil
}

// Check reports ErrReplaced unless the open file is still linked and is
// the file at its path.
func (f *File) Check() error {
	id, nlink, err := fileIdentity(f.File)
	if err != nil {
		return err
	}
	if nlink == 0 || !sameID(id, f.id) {
		return ErrReplaced
	}
	return f.checkPath()
}

func (f *File) checkPath() error {
	id, err := pathIdentity(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return ErrReplaced
	}
	if err != nil {
		return err
	}
	if !sameID(id, f.id) {
		return ErrReplaced
	}
	return nil
}

// Create creates the file at path, which must not exist, with mode 0600
// and data, fsynced: it writes a temporary file in the same directory,
// locks it and links it to path, so the file is locked from the moment it
// has its name. It fails with an error wrapping fs.ErrExist when another
// file took the path meanwhile. The caller syncs the directory.
func Create(path string, data []byte) (*File, error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := lock(f); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Write(data); err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	if err := os.Link(tmp, path); err != nil {
		f.Close()
		return nil, err
	}
	lf, err := adopt(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	return lf, nil
}

// Same reports ErrReplaced unless g is the same file as f: for a second
// descriptor opened by path after f was locked.
func (f *File) Same(g *os.File) error {
	id, _, err := fileIdentity(g)
	if err != nil {
		return err
	}
	if !sameID(id, f.id) {
		return ErrReplaced
	}
	return nil
}

// OpenWait is Open that waits, until ctx is done, for another holder to
// release the lock, polling with a growing delay of up to 50ms.
func OpenWait(ctx context.Context, path string, flag int) (*File, error) {
	delay := time.Millisecond
	for {
		f, err := Open(path, flag)
		if !errors.Is(err, ErrLocked) {
			return f, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (waited until %w)", ErrLocked, ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}
