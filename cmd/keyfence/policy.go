package main

import (
	"context"

	"github.com/keyfence/keyfence/limits"
)

const policyUsage = "usage: keyfence policy check FILE"

func policyCmd(_ context.Context, args []string, e *env) error {
	if len(args) == 0 || args[0] != "check" {
		return usagef("%s", policyUsage)
	}
	fs := newFlags("policy check", e)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("%s", policyUsage)
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
