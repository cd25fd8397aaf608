package main

import (
	"context"

	"github.com/keyfence/keyfence/limits"
)

func policyCmd(_ context.Context, args []string, e *env) error {
	if len(args) == 0 || args[0] != "check" {
		return usagef("usage: keyfence policy check FILE")
	}
	fs := newFlags("policy check", e)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("usage: keyfence policy check FILE")
	}
	p, err := limits.LoadPolicy(fs.Arg(0))
	if err != nil {
		return err
	}
	eff, err := p.Effective()
	if err != nil {
		return err
	}
	return eff.WriteText(e.stdout)
}
