#!/bin/sh
# Runs git in a process group of its own and, when terminated, kills the whole group: git's helpers
# (git-remote-https, ssh) do not die with git, and a server that never answers would keep them, and
# their connections, alive. stdin, stdout and stderr pass through; the exit status is git's.
exec 3<&0
setsid git "$@" <&3 3<&- &
child=$!
exec 3<&-
trap 'kill -s KILL -- "-$child" 2>/dev/null; exit 143' TERM INT HUP
wait "$child"
