package main

import (
	"fmt"
	"strings"
)

const completionUsage = "usage: keyfence completion bash|zsh   (e.g. source <(keyfence completion bash))"

// subcommands lists each command and its subcommands, in the order help
// shows them: the completion scripts are generated from it.
var subcommands = [][]string{
	{"keys", "init", "add", "list", "remove", "passwd"},
	{"policy", "check", "init"},
	{"audit", "verify", "keygen"},
	{"request"},
	{"killswitch", "status", "trip", "reset"},
	{"reconcile"},
	{"gateway", "client", "killswitch", "policy", "status", "reconcile"},
	{"state", "rebuild"},
	{"sim"},
	{"version"},
	{"help"},
	{"completion", "bash", "zsh"},
}

// completionCmd prints a shell completion script for bash or zsh. It
// completes commands and subcommands, then files.
func completionCmd(args []string, e *env) error {
	if len(args) != 1 {
		return usagef("%s", completionUsage)
	}
	switch args[0] {
	case "bash":
		fmt.Fprint(e.stdout, bashCompletion())
	case "zsh":
		// zsh runs the bash script through its bash completion layer.
		fmt.Fprint(e.stdout, "#compdef keyfence\nautoload -U +X bashcompinit && bashcompinit\n"+bashCompletion())
	default:
		return usagef("unknown shell %q; %s", args[0], completionUsage)
	}
	return nil
}

func bashCompletion() string {
	var b strings.Builder
	b.WriteString("# keyfence completion for bash; source it, e.g. source <(keyfence completion bash)\n")
	b.WriteString("_keyfence() {\n")
	b.WriteString("  local cur=${COMP_WORDS[COMP_CWORD]}\n")
	b.WriteString("  if [ \"$COMP_CWORD\" -eq 1 ]; then\n")
	cmds := make([]string, len(subcommands))
	for i, c := range subcommands {
		cmds[i] = c[0]
	}
	fmt.Fprintf(&b, "    COMPREPLY=($(compgen -W %q -- \"$cur\")); return\n", strings.Join(cmds, " "))
	b.WriteString("  fi\n")
	b.WriteString("  if [ \"$COMP_CWORD\" -eq 2 ]; then\n")
	b.WriteString("    case ${COMP_WORDS[1]} in\n")
	for _, c := range subcommands {
		if len(c) > 1 {
			fmt.Fprintf(&b, "      %s) COMPREPLY=($(compgen -W %q -- \"$cur\")); return;;\n", c[0], strings.Join(c[1:], " "))
		}
	}
	fmt.Fprintf(&b, "      help) COMPREPLY=($(compgen -W %q -- \"$cur\")); return;;\n", strings.Join(cmds, " "))
	b.WriteString("    esac\n")
	b.WriteString("  fi\n")
	b.WriteString("  COMPREPLY=($(compgen -f -- \"$cur\"))\n")
	b.WriteString("}\n")
	b.WriteString("complete -o filenames -F _keyfence keyfence\n")
	return b.String()
}
