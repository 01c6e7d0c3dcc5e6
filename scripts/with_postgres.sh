#!/usr/bin/env bash
# Runs CMD with a throwaway PostgreSQL server for the PostgreSQL cache tests:
#
#   scripts/with_postgres.sh cargo test
#
# Starts a server from a temporary data directory on 127.0.0.1 (a free port;
# its socket in the same directory), with trust authentication, so only this
# machine's users can reach it and only while CMD runs. Exports
#   ANUBAD_TEST_POSTGRES=postgres://USER@127.0.0.1:PORT/postgres
# and, when openssl is there to make a test CA, turns TLS on and exports
#   ANUBAD_TEST_POSTGRES_CA=the CA's certificate
# (the role anubad_tls may connect over TLS only, so a test can tell that TLS
# was used). Stops the server and removes the directory when CMD ends, and
# exits with CMD's status. Installs Debian's postgresql (and openssl) first
# when initdb is missing and apt-get can run as root.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi

find_bin() {
  if command -v "$1" >/dev/null 2>&1; then
    command -v "$1"
    return
  fi
  # Debian keeps the server binaries off PATH.
  ls -d /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n 1
}

as_root=false
[ "$(id -u)" = 0 ] && as_root=true

if [ -z "$(find_bin initdb)" ] || ! command -v openssl >/dev/null 2>&1; then
  if $as_root && command -v apt-get >/dev/null 2>&1; then
    timeout 600 sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq postgresql openssl >/dev/null' \
      || echo "could not install postgresql; tests that need it will say so" >&2
  fi
fi
initdb=$(find_bin initdb)
pg_ctl=$(find_bin pg_ctl)
if [ -z "$initdb" ] || [ -z "$pg_ctl" ]; then
  echo "PostgreSQL's initdb/pg_ctl not found; running without a test server" >&2
  exec "$@"
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/anubad-postgres.XXXXXX")
chmod 755 "$dir"
user=$(id -un)
run_as=()
# initdb and the server refuse to run as root: use the postgres account
# Debian's package makes, or nobody.
if $as_root; then
  if id postgres >/dev/null 2>&1; then user=postgres; else user=nobody; fi
  run_as=(runuser -u "$user" --)
fi
mkdir "$dir/data"
chown "$user" "$dir" "$dir/data" 2>/dev/null || true

server_started=false
cleanup() {
  status=$?
  if $server_started; then
    ${run_as[@]+"${run_as[@]}"} "$pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

${run_as[@]+"${run_as[@]}"} "$initdb" -D "$dir/data" -U "$user" --auth=trust -E UTF8 --no-locale \
  >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; echo "initdb failed" >&2; exit 1; }

options="-c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c max_connections=200 -c fsync=off"
ca=""
if command -v openssl >/dev/null 2>&1; then
  # A test CA and a server certificate for 127.0.0.1 signed by it.
  (
    cd "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout ca.key -out ca.crt -days 2 -subj "/CN=anubad test CA" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -out server.crt -days 2 -extfile server.ext 2>/dev/null
    chown "$user" server.key server.crt
    chmod 600 server.key
  ) && ca="$dir/ca.crt"
fi
if [ -n "$ca" ]; then
  options="$options -c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key"
  {
    echo "local all all trust"
    echo "hostssl all anubad_tls 127.0.0.1/32 trust"
    echo "hostnossl all anubad_tls 127.0.0.1/32 reject"
    echo "host all all 127.0.0.1/32 trust"
  } >"$dir/data/pg_hba.conf"
fi

# A free port: ask the kernel for one, then hand it to the server. Another
# program could take it in between; then the start fails and is retried.
for attempt in 1 2 3; do
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo $((20000 + RANDOM % 20000)))
  if ${run_as[@]+"${run_as[@]}"} "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "$options -c port=$port" start >/dev/null 2>&1; then
    server_started=true
    break
  fi
done
if ! $server_started; then
  cat "$dir/server.log" >&2 2>/dev/null || true
  echo "the PostgreSQL test server did not start" >&2
  exit 1
fi

export ANUBAD_TEST_POSTGRES="postgres://$user@127.0.0.1:$port/postgres"
if [ -n "$ca" ]; then
  # From /: the server's account may not enter the caller's folder.
  (cd / && ${run_as[@]+"${run_as[@]}"} "$(find_bin psql)" -q -h "$dir" -p "$port" -U "$user" \
    -d postgres -c "CREATE ROLE anubad_tls LOGIN SUPERUSER" >/dev/null)
  export ANUBAD_TEST_POSTGRES_CA="$ca"
fi
echo "PostgreSQL test server: $ANUBAD_TEST_POSTGRES${ca:+ (TLS on, CA $ca)}" >&2

# Not exec: the trap must stop the server afterwards.
set +e
"$@"
