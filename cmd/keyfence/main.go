// Command keyfence manages exchange keys, checks policies, verifies audit
// logs, runs the simulated venues and sends guarded, signed requests.
//
// Usage:
//
//	keyfence keys init|add|list|remove|passwd [flags]
//	keyfence policy check FILE
//	keyfence audit verify FILE...
//	keyfence request --key NAME [flags] METHOD PATH [PARAM=VALUE]...
//	keyfence killswitch status|trip|reset --state FILE --policy FILE
//	keyfence reconcile --key NAME [--state FILE] [--audit FILE] [--policy FILE] [--venue-url URL] [--alert-only]
//	keyfence sim [--venue VENUE]... [--listen ADDR] [--key ...]... [--price SYMBOL=PRICE]...
//	keyfence gateway --keystore KS --policy FILE --state FILE --audit FILE --upstream VENUE=URL... [--admin SOCKET]
//	keyfence gateway client add|remove|list, killswitch trip|reset|status, policy reload, status
//
// Exit status: 0 on success, 1 with a one-line message on standard error
// when the command fails, 2 on usage errors.
//
// Secrets are never read from the command line: the keystore passphrase
// comes from KEYFENCE_PASSPHRASE, --passphrase-file or a prompt without
// echo, and key secrets from standard input or a prompt without echo.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], osEnv())
	stop()
	os.Exit(code)
}
