//go:build unix

package lockedfile

import (
	"errors"
	"os"
	"syscall"
)

type identity struct{ dev, ino uint64 }

func lock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return ErrLocked
		}
		return err
	}
}

func fileIdentity(f *os.File) (identity, uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return identity{}, 0, &os.PathError{Op: "fstat", Path: f.Name(), Err: err}
	}
	return identity{uint64(st.Dev), uint64(st.Ino)}, uint64(st.Nlink), nil
}

func pathIdentity(path string) (identity, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return identity{}, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return identity{uint64(st.Dev), uint64(st.Ino)}, nil
}

func sameID(a, b identity) bool { return a == b }
