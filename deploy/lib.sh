# Process helpers of the deploy/ scripts that run a server natively (postgres.sh, kafka.sh,
# keycloak.sh, prometheus.sh) and of stack.sh: sourced, never run. The script names itself in
# BP_SCRIPT before sourcing, for its messages.
#   source "$SCRIPT_DIR/lib.sh"
# Nothing here decides which process is a script's own: each script keeps that test (its pid
# file plus what the process's command line must show), since a wrong answer there would stop
# another clone's server.

log() { echo "$BP_SCRIPT: $*" >&2; }
die() { echo "$BP_SCRIPT: ERROR: $*" >&2; exit 1; }

# port_open PORT [HOST]: 0 if something accepts TCP there (HOST default 127.0.0.1).
port_open() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

# A free TCP port on 127.0.0.1, as the kernel gives one.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Alive and not a zombie. kill -0 (and pg_ctl status, and a server's own lock check) count a
# zombie as alive: a SIGKILLed process its parent or PID 1 has not reaped yet. The state is the
# field after the ")" that ends the command name in /proc/PID/stat (the name itself may hold
# spaces or parentheses).
pid_alive() {
  local st
  st="$(sed -n 's/.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true)"
  [[ -n "$st" && "$st" != Z && "$st" != X ]]
}

# pid_from_file FILE: the pid it holds (digits only); 1 if no file or no pid in it.
pid_from_file() {
  [[ -f "$1" ]] || return 1
  local pid
  pid="$(tr -dc '0-9' <"$1" 2>/dev/null)" || return 1
  [[ -n "$pid" ]] || return 1
  echo "$pid"
}

# cmdline_has PID TEXT: the process's command line (arguments joined by spaces) contains TEXT.
cmdline_has() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"; }

# wait_gone PID SECONDS: 0 once the process is gone (or a zombie), 1 if still alive then.
wait_gone() {
  local pid=$1 deadline=$((SECONDS + $2))
  while pid_alive "$pid"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# stop_pids WHAT SECONDS PID...: SIGTERM (and SIGCONT, so that a frozen process handles it),
# SIGKILL to any still alive after SECONDS; dies if one survives that too.
stop_pids() {
  local what=$1 timeout=$2 pid
  shift 2
  for pid in "$@"; do
    log "stopping $what (pid $pid, SIGTERM)"
    kill -TERM "$pid" 2>/dev/null || true
    kill -CONT "$pid" 2>/dev/null || true
  done
  for pid in "$@"; do
    if ! wait_gone "$pid" "$timeout"; then
      log "pid $pid still alive after ${timeout}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 10 || die "could not kill pid $pid"
    fi
  done
}
