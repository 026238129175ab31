#!/usr/bin/env bash
# infra/ensure-services.sh — make a Debian machine ready for Meridian's "services" mode:
#
#   1. pgvector is installed for the running PostgreSQL major version (built from
#      Debian trixie's *source* package when bookworm has no binary package);
#   2. PostgreSQL and Redis answer on 127.0.0.1 (started if they do not);
#   3. the `test` database exists and `CREATE EXTENSION vector` works in it;
#   4. shared_buffers is at least MERIDIAN_PG_SHARED_BUFFERS (2GB): memory recall at 1M memories reads a
#      ~1.3 GB working set (heap + HNSW indexes), which 128 MB of shared buffers turns into page-cache
#      reads (p99 8.7–9.4 ms instead of ~5 ms; docs/benchmarks.md "## Memory"). Raising it means
#      ALTER SYSTEM + a restart of the cluster, done here only when the setting is lower.
#
# Idempotent: when everything is already in place it only checks and exits (< 2 s).
#
# Usage: infra/ensure-services.sh [--check]
#   --check   only report; exit 1 if anything is missing; change nothing.
#
# Environment overrides (all optional):
#   MERIDIAN_PG_HOST (127.0.0.1)  MERIDIAN_PG_PORT (5432)  MERIDIAN_PG_SUPERUSER (postgres)
#   MERIDIAN_TEST_DB (test)  MERIDIAN_REDIS_HOST (127.0.0.1)  MERIDIAN_REDIS_PORT (6379)
#   MERIDIAN_WAIT_SECONDS (30)  how long to wait for a service to answer after starting it
#   MERIDIAN_PG_SHARED_BUFFERS (2GB)  the least shared_buffers to run with; "keep" leaves the server's value
#   MERIDIAN_DEBIAN_MIRROR        Debian archive URI for the trixie deb-src entry
#                                 (default: the URI of this machine's own apt sources)
set -euo pipefail

PG_HOST=${MERIDIAN_PG_HOST:-127.0.0.1}
PG_PORT=${MERIDIAN_PG_PORT:-5432}
PG_SUPERUSER=${MERIDIAN_PG_SUPERUSER:-postgres}
TEST_DB=${MERIDIAN_TEST_DB:-test}
REDIS_HOST=${MERIDIAN_REDIS_HOST:-127.0.0.1}
REDIS_PORT=${MERIDIAN_REDIS_PORT:-6379}
WAIT_SECONDS=${MERIDIAN_WAIT_SECONDS:-30}
PG_SHARED_BUFFERS=${MERIDIAN_PG_SHARED_BUFFERS:-2GB}

SRC_SUITE=trixie
SRC_FILE=/etc/apt/sources.list.d/meridian-trixie-src.sources
DEFAULT_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

CHECK_ONLY=0
case "${1:-}" in
  "") ;;
  --check) CHECK_ONLY=1 ;;
  -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

START=${EPOCHREALTIME:-$(date +%s)}
say() { printf 'ensure-services: %s\n' "$*"; }
die() { printf 'ensure-services: ERROR: %s\n' "$*" >&2; exit 1; }
elapsed() { awk -v a="$START" -v b="${EPOCHREALTIME:-$(date +%s)}" 'BEGIN { printf "%.2fs", b - a }'; }
have() { command -v "$1" >/dev/null 2>&1; }

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if have sudo; then SUDO=(sudo -n); fi
fi
as_root() {
  if [[ $(id -u) -ne 0 && ${#SUDO[@]} -eq 0 ]]; then die "need root (or sudo) for: $*"; fi
  "${SUDO[@]}" "$@"
}

# Work dir + log for the slow path only; kept (and shown) on failure.
WORK=""
LOG=/dev/null
need_work() {
  [[ -n "$WORK" ]] && return 0
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/meridian-ensure-services.XXXXXX")
  chmod 755 "$WORK"
  LOG="$WORK/log.txt"
  : >"$LOG"
}
on_exit() {
  local rc=$?
  if [[ -n "$WORK" ]]; then
    if [[ $rc -eq 0 ]]; then rm -rf "$WORK"
    else
      printf 'ensure-services: FAILED (exit %s) — last lines of %s:\n' "$rc" "$LOG" >&2
      tail -n 60 "$LOG" >&2 || true
    fi
  fi
}
trap on_exit EXIT
# run "description" cmd... : one line on stdout, full output in the log.
run() {
  local what=$1; shift
  say "$what"
  need_work
  printf '\n$ %s\n' "$*" >>"$LOG"
  # 9>&- : daemons started here must not inherit (and keep holding) the run lock.
  "$@" >>"$LOG" 2>&1 </dev/null 9>&- || die "step failed: $what (full log: $LOG)"
}

# ---------------------------------------------------------------- PostgreSQL
# Major version and cluster of the server on $PG_PORT: pg_lsclusters, else /etc/postgresql, else pg_config.
PG_MAJOR=""; PG_CLUSTER=""
if have pg_lsclusters; then
  read -r PG_MAJOR PG_CLUSTER < <(pg_lsclusters -h 2>/dev/null | awk -v p="$PG_PORT" '$3 == p { print $1, $2; exit }') || true
fi
if [[ -z "$PG_MAJOR" && -d /etc/postgresql ]]; then
  PG_MAJOR=$(ls /etc/postgresql 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tail -n1 || true)
fi
if [[ -z "$PG_MAJOR" ]] && have pg_config; then
  PG_MAJOR=$(pg_config --version | sed -nE 's/^PostgreSQL ([0-9]+).*/\1/p')
fi
[[ -n "$PG_MAJOR" ]] || die "no PostgreSQL server found (install postgresql, or use infra/docker-compose.yml)"

PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
if [[ ! -x "$PG_CONFIG" ]]; then PG_CONFIG=$(command -v pg_config || true); fi
[[ -n "$PG_CONFIG" ]] || die "pg_config not found for PostgreSQL $PG_MAJOR"
PG_CONFIG_MAJOR=$("$PG_CONFIG" --version | sed -nE 's/^PostgreSQL ([0-9]+).*/\1/p')
[[ "$PG_CONFIG_MAJOR" == "$PG_MAJOR" ]] || die "$PG_CONFIG is for PostgreSQL $PG_CONFIG_MAJOR, server is $PG_MAJOR"
EXT_DIR="$("$PG_CONFIG" --sharedir)/extension"
LIB_DIR="$("$PG_CONFIG" --pkglibdir)"

pgvector_installed() { [[ -f "$EXT_DIR/vector.control" && -f "$LIB_DIR/vector.so" ]]; }
pgvector_version() { sed -nE "s/^default_version *= *'([^']*)'.*/\1/p" "$EXT_DIR/vector.control" 2>/dev/null; }

# A trixie entry must never offer binary packages: only `Types: deb-src` is acceptable.
src_file_ok() {
  [[ ! -e "$SRC_FILE" ]] && return 0
  local types
  types=$(sed -nE 's/^Types:[[:space:]]*//p' "$SRC_FILE" | tr -s ' \t' '\n\n' | sort -u | tr '\n' ' ')
  [[ "$types" == "deb-src " ]] && ! grep -qE '^[[:space:]]*deb[[:space:]]' "$SRC_FILE"
}

# Debian archive URI (and keyring) from this machine's apt sources: the enabled entry whose
# suite is exactly this release's codename (not -security/-updates) and which has `main`.
find_debian_archive() {
  local codename=$1 f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" && "$f" != "$SRC_FILE" ]] || continue
    case "$f" in
      *.sources)
        awk -v cn="$codename" '
          BEGIN { RS = ""; FS = "\n" }
          {
            types = uris = suites = comps = signed = ""; enabled = "yes"
            for (i = 1; i <= NF; i++) {
              line = $i
              if (line ~ /^[ \t]*#/ || line ~ /^[ \t]/) continue
              if (match(line, /^[A-Za-z-]+:/)) {
                key = tolower(substr(line, 1, RLENGTH - 1)); val = substr(line, RLENGTH + 1)
                gsub(/^[ \t]+|[ \t]+$/, "", val)
                if (key == "types") types = val; else if (key == "uris") uris = val
                else if (key == "suites") suites = val; else if (key == "components") comps = val
                else if (key == "signed-by") signed = val; else if (key == "enabled") enabled = tolower(val)
              }
            }
            if (enabled == "no" || (" " types " ") !~ / deb(-src)? /) next
            if ((" " suites " ") !~ (" " cn " ") || (" " comps " ") !~ / main /) next
            if (signed != "" && signed !~ /debian-archive-keyring/) next
            split(uris, u, /[ \t]+/)
            print u[1] "\t" (signed ~ /^\// ? signed : ""); exit
          }' "$f" ;;
      *)
        awk -v cn="$codename" '
          $1 == "deb" || $1 == "deb-src" {
            i = 2; opts = ""
            if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) { opts = opts " " $i; i++ }; opts = opts " " $i; i++ }
            uri = $i; suite = $(i + 1); comps = ""
            for (j = i + 2; j <= NF; j++) comps = comps " " $j
            if (suite != cn || (comps " ") !~ / main /) next
            signed = ""
            if (match(opts, /signed-by=[^] ]+/)) signed = substr(opts, RSTART + 10, RLENGTH - 10)
            if (signed != "" && signed !~ /debian-archive-keyring/) next
            print uri "\t" signed; exit
          }' "$f" ;;
    esac
  done | head -n1
}

APT_OPTS=(-q -y -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)
# apt-get restricted to the private trixie deb-src file (nothing else is read or cleaned up).
APT_TRIXIE=(-o "Dir::Etc::sourcelist=$SRC_FILE" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0)

install_pgvector() {
  say "pgvector is not installed for PostgreSQL $PG_MAJOR ($EXT_DIR/vector.control missing): building it from Debian $SRC_SUITE's source package"
  [[ -r /etc/os-release ]] && . /etc/os-release
  [[ "${ID:-}" == debian && -n "${VERSION_CODENAME:-}" ]] \
    || die "automatic pgvector install supports Debian only (found ${ID:-unknown}); install pgvector for PostgreSQL $PG_MAJOR yourself"
  have apt-get || die "apt-get not found"
  export DEBIAN_FRONTEND=noninteractive

  # Build dependencies (from this release, never from trixie).
  local pkgs=() p
  for p in "postgresql-server-dev-$PG_MAJOR" build-essential dpkg-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || pkgs+=("$p")
  done
  if ((${#pkgs[@]})); then
    say "apt-get install ${pkgs[*]}"
    need_work
    if ! as_root apt-get install "${APT_OPTS[@]}" --no-install-recommends "${pkgs[@]}" >>"$LOG" 2>&1 </dev/null 9>&-; then
      run "apt-get update (package lists were stale) and retry the install" as_root apt-get update "${APT_OPTS[@]}"
      run "apt-get install ${pkgs[*]}" as_root apt-get install "${APT_OPTS[@]}" --no-install-recommends "${pkgs[@]}"
    fi
  else
    say "build dependencies already installed (postgresql-server-dev-$PG_MAJOR, build-essential, dpkg-dev)"
  fi

  # Private deb-src entry for trixie, reusing this machine's Debian archive URI.
  local uri keyring found
  if [[ -n "${MERIDIAN_DEBIAN_MIRROR:-}" ]]; then
    uri=$MERIDIAN_DEBIAN_MIRROR; keyring=""
  else
    found=$(find_debian_archive "$VERSION_CODENAME")
    [[ -n "$found" ]] || die "no Debian archive for '$VERSION_CODENAME' found in /etc/apt/sources.list{,.d/*}; set MERIDIAN_DEBIAN_MIRROR"
    uri=${found%%$'\t'*}; keyring=${found#*$'\t'}
  fi
  if [[ -z "$keyring" && -f "$DEFAULT_KEYRING" ]]; then keyring=$DEFAULT_KEYRING; fi
  local want
  want="# Managed by Meridian infra/ensure-services.sh — Debian $SRC_SUITE SOURCE packages only (deb-src),
# used to build pgvector for PostgreSQL $PG_MAJOR. Never add 'deb' here: no $SRC_SUITE binaries on this machine.
Types: deb-src
URIs: $uri
Suites: $SRC_SUITE
Components: main
${keyring:+Signed-By: $keyring
}"
  if [[ ! -f "$SRC_FILE" ]] || [[ "$(cat "$SRC_FILE")" != "${want%$'\n'}" ]]; then
    say "writing $SRC_FILE (deb-src only, $SRC_SUITE, $uri)"
    printf '%s' "$want" | as_root tee "$SRC_FILE" >/dev/null
  else
    say "$SRC_FILE already present (deb-src only)"
  fi
  src_file_ok || die "$SRC_FILE must contain only 'Types: deb-src'"

  run "apt-get update restricted to $SRC_FILE" as_root apt-get update "${APT_OPTS[@]}" "${APT_TRIXIE[@]}"

  need_work
  mkdir -p "$WORK/src"
  chmod 777 "$WORK/src" # apt's download sandbox user (_apt) writes here
  run "apt-get source --download-only pgvector ($SRC_SUITE) into $WORK/src" \
    bash -c 'cd "$1" && shift && exec "$@"' _ "$WORK/src" \
    apt-get source --download-only -q "${APT_TRIXIE[@]}" "pgvector/$SRC_SUITE"
  local dsc
  dsc=$(ls "$WORK"/src/pgvector_*.dsc 2>/dev/null | head -n1)
  [[ -n "$dsc" ]] || die "apt-get source did not produce a pgvector .dsc (see $LOG)"
  run "dpkg-source -x $(basename "$dsc")" dpkg-source -x "$dsc" "$WORK/src/pgvector"

  # OPTFLAGS="" like Debian's own build: no -march=native, so the library stays portable.
  run "make PG_CONFIG=$PG_CONFIG (pgvector $(basename "$dsc" .dsc | cut -d_ -f2))" \
    make -C "$WORK/src/pgvector" -j"$(nproc 2>/dev/null || echo 2)" PG_CONFIG="$PG_CONFIG" OPTFLAGS=""
  run "make install PG_CONFIG=$PG_CONFIG" \
    as_root make -C "$WORK/src/pgvector" install PG_CONFIG="$PG_CONFIG" OPTFLAGS=""
  pgvector_installed || die "make install finished but $EXT_DIR/vector.control or $LIB_DIR/vector.so is missing"
  say "pgvector $(pgvector_version) installed for PostgreSQL $PG_MAJOR"
}

# ---------------------------------------------------------------- services
tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
pg_ready() {
  if have pg_isready; then pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2; else tcp_open "$PG_HOST" "$PG_PORT"; fi
}
redis_ready() {
  if have redis-cli; then
    [[ "$(timeout 3 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
  else
    local reply
    reply=$( (exec 3<>"/dev/tcp/$REDIS_HOST/$REDIS_PORT" && printf 'PING\r\n' >&3 && read -r -t 3 r <&3 && printf '%s' "$r") 2>/dev/null || true)
    [[ "$reply" == "+PONG"* ]]
  fi
}
wait_for() { # name check-fn
  local deadline=$((SECONDS + WAIT_SECONDS))
  until "$2"; do
    ((SECONDS < deadline)) || die "$1 did not answer within ${WAIT_SECONDS}s"
    sleep 0.2
  done
}
start_postgres() {
  have pg_ctlcluster || die "PostgreSQL is not answering on $PG_HOST:$PG_PORT and pg_ctlcluster is not available to start it"
  [[ -n "$PG_CLUSTER" ]] || die "PostgreSQL is not answering on $PG_HOST:$PG_PORT and no cluster is configured on port $PG_PORT (see pg_lsclusters)"
  run "starting PostgreSQL $PG_MAJOR/$PG_CLUSTER (pg_ctlcluster)" \
    as_root pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" "$PG_CLUSTER" start
  wait_for PostgreSQL pg_ready
  say "PostgreSQL is answering on $PG_HOST:$PG_PORT"
}
start_redis() {
  have redis-server || die "Redis is not answering on $REDIS_HOST:$REDIS_PORT and redis-server is not installed"
  as_root mkdir -p /var/lib/redis /var/log/redis
  run "starting Redis (redis-server --daemonize yes, port $REDIS_PORT)" \
    as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
      --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for Redis redis_ready
  say "Redis is answering on $REDIS_HOST:$REDIS_PORT"
}

psql_su() {
  PGCONNECT_TIMEOUT=5 psql -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_SUPERUSER" "$@"
}
sql_literal() { printf "'%s'" "${1//\'/\'\'}"; }
sql_ident() { printf '"%s"' "${1//\"/\"\"}"; }

# ---------------------------------------------------------------- --check
if ((CHECK_ONLY)); then
  missing=0
  ok() { say "ok      $*"; }
  bad() { say "MISSING $*"; missing=$((missing + 1)); }
  if pgvector_installed; then ok "pgvector $(pgvector_version) for PostgreSQL $PG_MAJOR ($EXT_DIR)"
  else bad "pgvector for PostgreSQL $PG_MAJOR ($EXT_DIR/vector.control)"; fi
  if src_file_ok; then :; else bad "$SRC_FILE is not deb-src only"; fi
  if pg_ready; then
    ok "PostgreSQL answering on $PG_HOST:$PG_PORT"
    if [[ "$(psql_su -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = $(sql_literal "$TEST_DB")" 2>/dev/null)" == 1 ]]; then
      ok "database $TEST_DB"
      v=$(psql_su -d "$TEST_DB" -tAc "SELECT extversion FROM pg_extension WHERE extname = 'vector'" 2>/dev/null || true)
      if [[ -n "$v" ]]; then ok "extension vector $v in database $TEST_DB"; else bad "extension vector in database $TEST_DB"; fi
      if [[ "$PG_SHARED_BUFFERS" != keep ]]; then
        if [[ "$(psql_su -d postgres -tAc "SELECT current_setting('shared_buffers')::text = $(sql_literal "$PG_SHARED_BUFFERS") OR pg_size_bytes(current_setting('shared_buffers')) >= pg_size_bytes($(sql_literal "$PG_SHARED_BUFFERS"))" 2>/dev/null)" == t ]]; then
          ok "shared_buffers $(psql_su -d postgres -tAc "SHOW shared_buffers") (≥ $PG_SHARED_BUFFERS)"
        else bad "shared_buffers ≥ $PG_SHARED_BUFFERS (is $(psql_su -d postgres -tAc "SHOW shared_buffers" 2>/dev/null))"; fi
      fi
    else
      bad "database $TEST_DB"
    fi
  else
    bad "PostgreSQL answering on $PG_HOST:$PG_PORT"
  fi
  if redis_ready; then ok "Redis answering on $REDIS_HOST:$REDIS_PORT"; else bad "Redis answering on $REDIS_HOST:$REDIS_PORT"; fi
  if ((missing)); then say "$missing item(s) missing ($(elapsed))"; exit 1; fi
  say "all good ($(elapsed))"
  exit 0
fi

# ---------------------------------------------------------------- ensure
# One run at a time per machine (CI jobs and developers may start it concurrently).
if have flock; then
  exec 9>"${TMPDIR:-/tmp}/meridian-ensure-services.lock"
  flock -w 900 9 || die "another ensure-services run holds the lock for more than 15 minutes"
fi

if [[ -e "$SRC_FILE" ]] && ! src_file_ok; then
  say "removing $SRC_FILE: it offers more than deb-src (trixie binaries must never be installable)"
  as_root rm -f "$SRC_FILE"
fi

if pgvector_installed; then say "pgvector $(pgvector_version) present for PostgreSQL $PG_MAJOR"
else install_pgvector; fi

if pg_ready; then say "PostgreSQL answering on $PG_HOST:$PG_PORT"; else start_postgres; fi
if redis_ready; then say "Redis answering on $REDIS_HOST:$REDIS_PORT"; else start_redis; fi

if [[ "$PG_SHARED_BUFFERS" != keep ]]; then
  have_sb=$(psql_su -d postgres -tAc "SHOW shared_buffers")
  if [[ "$(psql_su -d postgres -tAc "SELECT pg_size_bytes(current_setting('shared_buffers')) >= pg_size_bytes($(sql_literal "$PG_SHARED_BUFFERS"))")" == t ]]; then
    say "shared_buffers $have_sb (≥ $PG_SHARED_BUFFERS)"
  else
    have pg_ctlcluster && [[ -n "$PG_CLUSTER" ]] || die "shared_buffers is $have_sb, below $PG_SHARED_BUFFERS, and this script can only restart a Debian cluster (pg_ctlcluster): set it in the server's configuration, or MERIDIAN_PG_SHARED_BUFFERS=keep"
    psql_su -d postgres -c "ALTER SYSTEM SET shared_buffers = $(sql_literal "$PG_SHARED_BUFFERS")" >/dev/null
    run "shared_buffers $have_sb → $PG_SHARED_BUFFERS: restarting PostgreSQL $PG_MAJOR/$PG_CLUSTER" \
      as_root pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" "$PG_CLUSTER" restart
    wait_for PostgreSQL pg_ready
    say "shared_buffers is now $(psql_su -d postgres -tAc "SHOW shared_buffers")"
  fi
fi

if [[ "$(psql_su -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = $(sql_literal "$TEST_DB")")" == 1 ]]; then
  say "database $TEST_DB exists"
else
  say "creating database $TEST_DB"
  psql_su -d postgres -c "CREATE DATABASE $(sql_ident "$TEST_DB")" >/dev/null
fi

# extversion (empty if not created) and the version the installed files offer.
IFS='|' read -r ext_have ext_default < <(psql_su -d "$TEST_DB" -tAc \
  "SELECT e.extversion, a.default_version FROM pg_available_extensions a
     LEFT JOIN pg_extension e ON e.extname = a.name WHERE a.name = 'vector'") || true
[[ -n "${ext_default:-}" ]] || die "PostgreSQL does not list 'vector' in pg_available_extensions (server $PG_MAJOR, files in $EXT_DIR)"
if [[ -z "${ext_have:-}" ]]; then
  say "CREATE EXTENSION IF NOT EXISTS vector in database $TEST_DB"
  psql_su -d "$TEST_DB" -c "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null
elif [[ "$ext_have" != "$ext_default" ]]; then
  say "ALTER EXTENSION vector UPDATE in database $TEST_DB ($ext_have -> $ext_default)"
  psql_su -d "$TEST_DB" -c "ALTER EXTENSION vector UPDATE" >/dev/null
else
  say "extension vector $ext_have present in database $TEST_DB"
fi
probe=$(psql_su -d "$TEST_DB" -tAc "SELECT '[1,2,3]'::vector <-> '[1,2,5]'::vector")
[[ "$probe" == 2 ]] || die "pgvector self-test in database $TEST_DB returned '$probe', expected 2"

say "all good ($(elapsed))"
