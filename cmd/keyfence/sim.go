package main

import "context"

func simCmd(ctx context.Context, args []string, e *env) error { return usagef("sim: not yet") }
