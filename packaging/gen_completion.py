#!/usr/bin/env python3
"""Writes the bash completion for the tools from their --help text.

    gen_completion.py OUT TOOL=EXECUTABLE...

The option lists have one source, each tool's --help (the same text
help2man turns into the man pages): every `--long` option and every
`-x`/`-xy` short option at the start of an option line is offered.  An
option followed by a placeholder takes a value; the placeholder decides
what is completed there: D a directory, F, LIB or a *.so name a file,
anything else (N, S, H, ADDR, K ...) nothing.  The usage line decides the
words after the options: PROGRAM a command (then that command's own
completion), IMAGE a checkpoint image (*.dmtcp), otherwise nothing.
See docs/packaging.md.
"""
import os
import re
import subprocess
import sys

LONG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9]*(?:-[a-z0-9]+)*)(?![\w<-])")
# An option line: a little indented (a description's continuation lines
# are indented further), starts with an option, e.g.
#   "  -h, --coord-host H    coordinator host"
#   "  --ckptdir D           where images go"
OPTLINE = re.compile(r"^ {1,6}(-\S.*?)(?:\s{2,}|$)")
# One name with its placeholder(s): "--coord-host H", "--diff A B",
# "--with-plugin A.so:B.so".
ONE = re.compile(r"^(--?[a-z][a-z0-9-]*)"
                 r"(?:\s+([A-Z][\w.:]*)(?:\s+[A-Z]\w*)?)?$")
USAGE = re.compile(r"^Usage:\s*(\S+)\s*(.*)$", re.M)


def kind_of(placeholder):
    if placeholder == "D":
        return "dir"
    if placeholder in ("F", "LIB") or ".so" in placeholder:
        return "file"
    return "word"


def parse(text):
    opts = set(LONG.findall(text))
    takes = {}
    for line in text.splitlines():
        m = OPTLINE.match(line)
        if not m:
            continue
        # "-i, --interval S": the names on one line are one option, so
        # each takes the value the line shows.
        names, placeholder = [], None
        for part in m.group(1).split(","):
            o = ONE.match(part.strip())
            if o:
                names.append(o.group(1))
                placeholder = placeholder or o.group(2)
        opts.update(names)
        # "--diff A B": two images, completed like the positional ones.
        if placeholder and placeholder not in ("A", "B"):
            for n in names:
                takes[n] = kind_of(placeholder)
    usage = " ".join(m.group(2) for m in USAGE.finditer(text))
    # The usage line's own options, e.g. "[-h|--coord-host H]".
    for short, long_, ph in re.findall(
            r"\[(-[a-z]+)\|(--[a-z-]+)(?: ([A-Z]\w*))?\]", usage):
        opts.update((short, long_))
        if ph:
            takes[short] = takes[long_] = kind_of(ph)
    if "PROGRAM" in usage:
        rest = "command"
    elif "IMAGE" in usage:
        rest = "image"
    else:
        rest = "none"
    return sorted(opts), takes, rest


def case_arm(names, opts, takes, rest):
    by_kind = {"dir": [], "file": [], "word": []}
    for o in sorted(takes):
        by_kind[takes[o]].append(o)
    pat = "|".join(names)
    out = [f"    {pat})"]
    out.append(f"      opts='{' '.join(opts)}'")
    for k in ("dir", "file", "word"):
        v = "|".join(by_kind[k]) or "-"
        out.append(f"      {k}_opts='{v}'")
    out.append(f"      rest={rest}")
    out.append("      ;;")
    return "\n".join(out)


TEMPLATE = r'''# bash completion for the dmtcp-cpp tools.  Generated at build
# time by packaging/gen_completion.py from each tool's --help: do not edit.
# Installed as /usr/share/bash-completion/completions/dmtcp_launch, the
# other tools' names link here.

_dmtcp_cpp_complete() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  local prev=${COMP_WORDS[COMP_CWORD-1]}
  local cmd=${COMP_WORDS[0]##*/}
  local opts dir_opts file_opts word_opts rest
  case $cmd in
@ARMS@
    *) return 0 ;;
  esac
  COMPREPLY=()
  # The value of an option that takes one.
  if [[ $COMP_CWORD -gt 1 || $prev != "$cmd" ]] && [[ $prev == -* ]]; then
    if [[ "|$dir_opts|" == *"|$prev|"* ]]; then
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -d -- "$cur")
      return 0
    fi
    if [[ "|$file_opts|" == *"|$prev|"* ]]; then
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      return 0
    fi
    if [[ "|$word_opts|" == *"|$prev|"* ]]; then
      return 0
    fi
  fi
  # The first word that is neither an option nor an option's value.
  local i=1 w first=0
  while [[ $i -lt $COMP_CWORD ]]; do
    w=${COMP_WORDS[i]}
    if [[ $w == -- ]]; then
      first=$((i + 1))
      break
    elif [[ $w == -* ]]; then
      if [[ "|$dir_opts|$file_opts|$word_opts|" == *"|$w|"* ]]; then
        i=$((i + 1))
      fi
    else
      first=$i
      break
    fi
    i=$((i + 1))
  done
  if [[ $rest == command && $first -gt 0 && $first -lt $COMP_CWORD ]]; then
    # Past PROGRAM: PROGRAM's own completion, when bash-completion has it.
    if declare -F _command_offset >/dev/null; then
      _command_offset "$first"
    else
      compopt -o default 2>/dev/null
    fi
    return 0
  fi
  if [[ $cur == -* && ( $first -eq 0 || $first -eq $COMP_CWORD ) ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
    return 0
  fi
  case $rest in
    command)
      mapfile -t COMPREPLY < <(compgen -c -- "$cur")
      ;;
    image)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -d -- "$cur"
                               compgen -f -X '!*.dmtcp' -- "$cur")
      ;;
  esac
  return 0
}
complete -F _dmtcp_cpp_complete @NAMES@
'''


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: gen_completion.py OUT TOOL=EXECUTABLE...")
    out = sys.argv[1]
    arms, names = [], []
    for arg in sys.argv[2:]:
        tool, _, exe = arg.partition("=")
        # A sanitized build's tools run here too: a leak report at exit
        # must not fail the build (scripts/sanitize.sh checks leaks).
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
        r = subprocess.run([exe, "--help"], capture_output=True, text=True,
                           env=env, timeout=60)
        if r.returncode != 0:
            sys.exit(f"gen_completion.py: {exe} --help: exit {r.returncode}")
        opts, takes, rest = parse(r.stdout)
        if not opts:
            sys.exit(f"gen_completion.py: no options in {exe} --help")
        # dmtcp_checkpoint is dmtcp_launch under the tutorial's name.
        tool_names = [tool] + (["dmtcp_checkpoint"] if tool == "dmtcp_launch"
                               else [])
        arms.append(case_arm(tool_names, opts, takes, rest))
        names += tool_names
    text = TEMPLATE.replace("@ARMS@", "\n".join(arms)).replace(
        "@NAMES@", " ".join(names))
    with open(out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
