package app

import (
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/urfave/cli/v2"
)

// show is the skeleton of a command that reads or writes one thing: it runs
// call with a client on the selected backend and writes the result, as JSON
// with -o json or else with print.
func show[T any](st *state, c *cli.Context, call func(cl *client.Client) (T, error), print func(p *printer, v T)) error {
	return st.withClient(c, func(cl *client.Client, p *printer) error {
		v, err := call(cl)
		if err != nil {
			return err
		}
		if p.json {
			return p.JSON(v)
		}
		print(p, v)
		return nil
	})
}

// nonNil makes a nil list an empty one, so that JSON shows [] rather than null.
func nonNil[T any](s []T, err error) ([]T, error) {
	if s == nil && err == nil {
		s = []T{}
	}
	return s, err
}
