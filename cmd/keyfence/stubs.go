package main

import "context"

func requestCmd(ctx context.Context, args []string, e *env) error { return usagef("request: not yet") }
func simCmd(ctx context.Context, args []string, e *env) error     { return usagef("sim: not yet") }
