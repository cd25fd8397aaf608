package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/term"
)

// env is what a command may touch of the process, so that tests run the
// CLI in process.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// lookupEnv tells an empty variable from an unset one; nil means
	// getenv's "" is unset.
	lookupEnv func(string) (string, bool)
	// isTerminal reports whether stdin is a terminal (prompts are used then).
	isTerminal func() bool
	// readPassword reads a line from the terminal without echo.
	readPassword func(prompt string) ([]byte, error)
	// awsConfig, if set, replaces the AWS SDK's default configuration
	// for KMS keys (tests point it at a fake).
	awsConfig func(ctx context.Context) (aws.Config, error)

	bkOnce sync.Once
	bk     *backends
}

// secretEnv returns the secret in the environment variable name, or ok
// false when it is unset. A variable that is set but empty is an error
// that names it: it is almost always a script's mistake, and treating it
// as absent would fall back to a prompt or a file the user did not mean.
func (e *env) secretEnv(name string) (v string, ok bool, err error) {
	if e.lookupEnv != nil {
		v, ok = e.lookupEnv(name)
	} else {
		v = e.getenv(name)
		ok = v != ""
	}
	if ok && v == "" {
		return "", false, fmt.Errorf("%s is set but empty: unset it to be prompted, or set it to the passphrase", name)
	}
	return v, ok, nil
}

func osEnv() *env {
	fd := int(os.Stdin.Fd())
	return &env{
		stdin:      os.Stdin,
		stdout:     os.Stdout,
		stderr:     os.Stderr,
		getenv:     os.Getenv,
		lookupEnv:  os.LookupEnv,
		isTerminal: func() bool { return term.IsTerminal(fd) },
		readPassword: func(prompt string) ([]byte, error) {
			return readPasswordInterruptible(fd, prompt)
		},
	}
}

// usageError is a command-line mistake: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

const usage = `usage: keyfence <command> [arguments]

commands:
  keys init|add|list|remove|passwd   manage the encrypted keystore
  policy check|init                  validate a policy (every problem at once); write a starting one
  audit verify|keygen                verify a hash-chained audit log; add a key to key one
  request --key NAME METHOD PATH ... send a guarded, signed request
  killswitch status|trip|reset       show, trip or reset the kill switch in a limit state file
  reconcile --key NAME               settle orders from the venue's truth; report foreign orders
  state rebuild                      rebuild a limit state file refused as missing or stale
  sim                                run the simulated venues
  gateway                            run the guarded gateway any bot can use; manage its clients
  version                            print the version and the commit it was built from
  help [COMMAND]                     print this help, or a command's usage
  completion bash|zsh                print a shell completion script

Run 'keyfence <command> -h' for the flags of a command.`

// run executes the command line args and returns the exit status.
func run(ctx context.Context, args []string, e *env) int {
	err := dispatch(ctx, args, e)
	if e.bk != nil {
		e.bk.close() // log out of tokens, forget remote keys
	}
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(e.stderr, "keyfence: "+oneLine(ue.msg))
		return 2
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(e.stderr, "keyfence: "+oneLine(ee.msg))
		}
		return ee.code
	}
	fmt.Fprintln(e.stderr, "keyfence: "+oneLine(err.Error()))
	return 1
}

// exitError carries an exit status other than 0, 1 and 2 semantics above,
// or a failure whose details were already printed.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\r", " ")
	return strings.ReplaceAll(s, "\n", "; ")
}

func dispatch(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, usage)
		return &exitError{code: 2}
	}
	if len(args) > 1 && isHelp(args[1]) {
		if u := commandUsage(args[0]); u != "" {
			fmt.Fprintln(e.stdout, u)
			return nil
		}
	}
	switch args[0] {
	case "keys":
		return keysCmd(ctx, args[1:], e)
	case "policy":
		return policyCmd(ctx, args[1:], e)
	case "audit":
		return auditCmd(ctx, args[1:], e)
	case "request":
		return requestCmd(ctx, args[1:], e)
	case "sim":
		return simCmd(ctx, args[1:], e)
	case "gateway":
		return gatewayCmd(ctx, args[1:], e)
	case "killswitch":
		return killswitchCmd(ctx, args[1:], e)
	case "reconcile":
		return reconcileCmd(ctx, args[1:], e)
	case "state":
		return stateCmd(ctx, args[1:], e)
	case "version":
		return versionCmd(args[1:], e)
	case "completion":
		return completionCmd(args[1:], e)
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[0] == "help" {
			u := commandUsage(args[1])
			if u == "" {
				return usagef("unknown command %q; run 'keyfence help'", args[1])
			}
			fmt.Fprintln(e.stdout, u)
			return nil
		}
		fmt.Fprintln(e.stdout, usage)
		return nil
	}
	return usagef("unknown command %q; run 'keyfence help'", args[0])
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// commandUsage returns the usage of a command that has subcommands or
// arguments, or "" for an unknown command. A command's flags are listed by
// 'keyfence COMMAND SUBCOMMAND -h'.
func commandUsage(cmd string) string {
	switch cmd {
	case "keys":
		return keysUsage
	case "policy":
		return policyUsage
	case "audit":
		return auditUsage
	case "request":
		return requestUsage
	case "killswitch":
		return killUsage
	case "reconcile":
		return reconcileUsage
	case "state":
		return stateUsage
	case "sim":
		return simUsage
	case "gateway":
		return gatewayUsage
	case "version":
		return versionUsage
	case "completion":
		return completionUsage
	}
	return ""
}

// newFlags returns a flag set that reports errors as usage errors and
// prints its help to stderr.
func newFlags(name string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, as one line
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage of keyfence %s:\n", name)
		fs.SetOutput(e.stderr)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parseFlags parses args and turns flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	return nil
}

// readPasswordInterruptible reads a line from the terminal fd without
// echo. An interrupt (Ctrl-C) or SIGTERM at the prompt restores the
// terminal and exits at once with status 130, as a shell expects: the
// read itself cannot be cancelled, and a prompt that swallows Ctrl-C
// leaves the user stuck.
func readPasswordInterruptible(fd int, prompt string) ([]byte, error) {
	state, err := term.GetState(fd)
	if err != nil {
		return nil, fmt.Errorf("reading the terminal: %w", err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-sig:
			_ = term.Restore(fd, state)
			fmt.Fprintln(os.Stderr, "\nkeyfence: interrupted")
			os.Exit(130)
		case <-done:
		}
	}()
	fmt.Fprint(os.Stderr, prompt)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	return b, err
}
