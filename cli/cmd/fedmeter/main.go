// Command fedmeter is the one command of fedmeter for rule authors, org
// admins and apps: create a ledger, publish prices and quotas, request
// resources, submit usage, build, test, upload, vote on and activate billing
// rules, and list, total and verify bills. Run `fedmeter --help`;
// cli/README.md documents every command and the exit codes.
//
//	go install github.com/fedmeter/fedmeter/cli/cmd/fedmeter@latest
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/fedmeter/fedmeter/cli/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := app.Main(ctx, os.Args, app.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Terminal: isTerminal})
	stop()
	os.Exit(code)
}

// isTerminal reports whether v is a file that is a character device (a
// terminal).
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
