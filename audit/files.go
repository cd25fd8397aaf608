package audit

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// rotatedDigits is the width of the number of a rotated file.
const rotatedDigits = 6

// rotatedName returns the name of the n-th rotated file of the log at path.
func rotatedName(path string, n uint64) string {
	return fmt.Sprintf("%s.%0*d", path, rotatedDigits, n)
}

// rotated lists the rotated files of the log at path with their numbers, in
// ascending order.
func rotated(path string) ([]string, []uint64, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("audit: list log files: %w", err)
	}
	type file struct {
		name string
		n    uint64
	}
	var found []file
	for _, e := range entries {
		suffix, ok := strings.CutPrefix(e.Name(), base+".")
		if !ok || len(suffix) < rotatedDigits || e.IsDir() || strings.TrimLeft(suffix, "0123456789") != "" {
			continue
		}
		n, err := strconv.ParseUint(suffix, 10, 64)
		if err != nil {
			continue
		}
		found = append(found, file{filepath.Join(filepath.Dir(path), e.Name()), n})
	}
	slices.SortFunc(found, func(a, b file) int {
		switch {
		case a.n < b.n:
			return -1
		case a.n > b.n:
			return 1
		}
		return 0
	})
	names := make([]string, len(found))
	nums := make([]uint64, len(found))
	for i, f := range found {
		names[i], nums[i] = f.name, f.n
	}
	return names, nums, nil
}

// Files lists the files of the log at path in chain order, oldest first:
// the rotated files path.000001, path.000002, ... by number, then path
// itself if it exists. Pass the result to VerifyFiles.
func Files(path string) ([]string, error) {
	names, _, err := rotated(path)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); err == nil {
		names = append(names, path)
	} else if !os.IsNotExist(err) {
		return nil, fmt.Errorf("audit: list log files: %w", err)
	}
	return names, nil
}

// syncDir fsyncs a directory so that a rename or create in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
