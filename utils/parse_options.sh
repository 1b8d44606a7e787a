#!/usr/bin/env bash
# Kaldi-style option parsing, sourced by scripts after their configuration section:
#   --foo-bar VALUE   sets foo_bar=VALUE (the variable must already exist: unknown options are errors)
#   --config FILE     sources FILE (lines of foo_bar=VALUE)
#   --help            prints the script's usage (its `help_message`, or its header comment) and exits
# Options stop at the first argument that does not start with --.

while true; do
  [ -z "${1:-}" ] && break
  case "$1" in
    --help|-h)
      if [ -n "${help_message:-}" ]; then printf '%s\n' "$help_message" >&2
      else sed -n '2,/^[^#]/p' "$0" | sed -n 's/^# \{0,1\}//p' >&2; fi
      exit 0 ;;
    --config)
      [ $# -ge 2 ] || { echo "$0: --config needs a file" >&2; exit 1; }
      [ -f "$2" ] || { echo "$0: config file $2 does not exist" >&2; exit 1; }
      . "$2"; shift 2 ;;
    --*=*)
      name=$(echo "${1%%=*}" | sed 's/^--//; s/-/_/g')
      if [ -z "${!name+x}" ]; then echo "$0: invalid option ${1%%=*}" >&2; exit 1; fi
      printf -v "$name" '%s' "${1#*=}"; shift ;;
    --*)
      name=$(echo "$1" | sed 's/^--//; s/-/_/g')
      if [ -z "${!name+x}" ]; then echo "$0: invalid option $1" >&2; exit 1; fi
      [ $# -ge 2 ] || { echo "$0: option $1 needs a value" >&2; exit 1; }
      printf -v "$name" '%s' "$2"; shift 2 ;;
    *) break ;;
  esac
done
true
