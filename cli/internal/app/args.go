package app

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// normalizeArgs lets flags appear anywhere on the command line, as people
// type them ("fedmeter price set ecs --as Org1/Admin --currency CNY ..."):
// urfave/cli v2 wants global flags before the command and a command's flags
// before its arguments. It reorders args into
//
//	prog [global flags] command subcommand [command flags] [--] [arguments]
//
// Tokens after "--" are arguments. A flag no level knows is left with the
// command, where urfave/cli reports it.
func normalizeArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	var tail []string
	if last := args[len(args)-1]; last == "--generate-bash-completion" {
		args, tail = args[:len(args)-1], []string{last}
	}
	var global, path, local, pos []string
	cmds := app.Commands
	var cur *cli.Command
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		t := rest[i]
		if t == "--" {
			pos = append(pos, rest[i+1:]...)
			break
		}
		if len(t) > 1 && t[0] == '-' {
			name, _, hasValue := strings.Cut(strings.TrimLeft(t, "-"), "=")
			takesValue := func(fs []cli.Flag) (found, value bool) {
				for _, f := range fs {
					for _, n := range f.Names() {
						if n == name {
							_, isBool := f.(*cli.BoolFlag)
							return true, !isBool
						}
					}
				}
				return false, false
			}
			dst := &global
			found, value := false, false
			if cur != nil {
				if found, value = takesValue(cur.Flags); found || name == "help" || name == "h" {
					dst = &local
				}
			}
			if !found {
				if f, v := takesValue(app.Flags); f {
					found, value, dst = true, v, &global
				} else if cur != nil {
					dst = &local
				}
			}
			*dst = append(*dst, t)
			if found && value && !hasValue && i+1 < len(rest) {
				i++
				*dst = append(*dst, rest[i])
			}
			continue
		}
		if len(pos) == 0 {
			if c := findCommand(cmds, t); c != nil {
				path = append(path, t)
				cur, cmds = c, c.Subcommands
				continue
			}
		}
		pos = append(pos, t)
	}
	out := append([]string{args[0]}, global...)
	out = append(out, path...)
	out = append(out, local...)
	for _, p := range pos {
		if len(p) > 1 && p[0] == '-' {
			out = append(out, "--")
			break
		}
	}
	out = append(out, pos...)
	return append(out, tail...)
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.Name == name {
			return c
		}
		for _, a := range c.Aliases {
			if a == name {
				return c
			}
		}
	}
	return nil
}
