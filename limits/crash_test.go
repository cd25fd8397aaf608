//go:build unix

package limits

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

const helperEnv = "KEYFENCE_LIMITS_CRASH_STORE"

// crashCap is the daily cap the helper reserves against, one unit at a time.
const crashCap = 100000

// TestHelperProcess is not a test: run by TestFileStoreSurvivesKill9 as a
// child process, it reserves from a FileStore in a loop and reports every
// grant on stdout, until it is killed.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("helper process for TestFileStoreSurvivesKill9")
	}
	s, err := OpenFileStore(path, CompactEvery(16))
	if err != nil {
		fmt.Fprintln(os.Stdout, "error", err)
		os.Exit(2)
	}
	deadline := time.Now().Add(time.Minute) // never outlive a broken parent
	for i := 0; time.Now().Before(deadline); i++ {
		_, err := s.Reserve(context.Background(), &ReserveRequest{Owner: "bot", Now: time.Now(),
			Limits: []Limit{{Key: "daily", Amount: decimal.NewFromInt(1), Cap: decimal.NewFromInt(crashCap), Window: DailyWindow}}})
		if err != nil {
			fmt.Fprintln(os.Stdout, "error", err)
			os.Exit(2)
		}
		// os.Stdout is unbuffered: the line is in the pipe when Fprintln returns.
		fmt.Fprintln(os.Stdout, "granted", i)
	}
	os.Exit(3)
}

func TestFileStoreSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "limits.journal")
	total := 0 // grants reported over all rounds
	rounds := []int{25, 60, 140}
	for round, k := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
		cmd.Env = append(os.Environ(), helperEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		granted := 0
		for granted < k && sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "error") {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("round %d: helper: %s", round, line)
			}
			if strings.HasPrefix(line, "granted") {
				granted++
			}
		}
		if err := cmd.Process.Kill(); err != nil { // SIGKILL, mid-loop
			t.Fatal(err)
		}
		cmd.Wait()
		if granted < k {
			t.Fatalf("round %d: helper reported %d grants before exiting, want %d", round, granted, k)
		}

		s, err := OpenFileStore(path)
		if err != nil {
			t.Fatalf("round %d: reopening after kill -9: %v", round, err)
		}
		// Probe the usage: a dry run of the whole cap fails and reports it.
		_, err = s.Reserve(context.Background(), &ReserveRequest{Now: time.Now(), DryRun: true,
			Limits: []Limit{{Key: "daily", Amount: decimal.NewFromInt(crashCap), Cap: decimal.NewFromInt(crashCap), Window: DailyWindow}}})
		var ex *ExceededError
		if !errors.As(err, &ex) {
			t.Fatalf("round %d: probe: %v", round, err)
		}
		total += granted
		t.Logf("round %d: %d grants reported in all, %s recorded", round, total, ex.Used)
		if ex.Used.LessThan(decimal.NewFromInt(int64(total))) {
			t.Fatalf("round %d: usage %s after restart is below the %d grants reported", round, ex.Used, total)
		}
		if round == len(rounds)-1 {
			// Fill to the cap: the remainder passes, one more unit is refused.
			rest := decimal.NewFromInt(crashCap).Sub(ex.Used)
			if _, err := s.Reserve(context.Background(), &ReserveRequest{Now: time.Now(),
				Limits: []Limit{{Key: "daily", Amount: rest, Cap: decimal.NewFromInt(crashCap), Window: DailyWindow}}}); err != nil {
				t.Fatalf("the rest of the cap: %v", err)
			}
			if _, err := s.Reserve(context.Background(), &ReserveRequest{Now: time.Now(),
				Limits: []Limit{{Key: "daily", Amount: decimal.NewFromInt(1), Cap: decimal.NewFromInt(crashCap), Window: DailyWindow}}}); !errors.As(err, &ex) {
				t.Fatalf("beyond the cap: %v", err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
