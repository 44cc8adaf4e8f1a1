#!/bin/sh
# CI: a PostgreSQL server for the hub's tests (Debian 12 / UOS, as root).
#   eval "$(sh installer/ci-postgres.sh)"     installs, starts the Debian cluster, creates a role
#                                            and database, and exports INTAKE_TEST_PG_URL
# Progress goes to stderr; stdout carries only the export line, so eval sees nothing else.
# Without INTAKE_TEST_PG_URL the tests start a throwaway cluster of their own from the same
# Debian binaries (tests/integration/test_sync_hub.py), so this script is an optimisation for
# CI, not a requirement for a developer.
set -eu

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
ROLE="${INTAKE_PG_ROLE:-intake_test}"
PASSWORD="${INTAKE_PG_PASSWORD:-intake_test}"
DB="${INTAKE_PG_DB:-intake_test}"

if ! command -v pg_lsclusters >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    $SUDO apt-get update -qq >&2
    $SUDO apt-get install -y -qq --no-install-recommends postgresql >&2
fi

# The Debian cluster: the newest version installed, created if the package did not make one.
VERSION="$(ls /usr/lib/postgresql | sort -n | tail -1)"
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$VERSION main"; then
    $SUDO pg_createcluster "$VERSION" main >&2
fi
$SUDO pg_ctlcluster "$VERSION" main start >&2 2>/dev/null || true
PORT="$(pg_lsclusters -h | awk -v v="$VERSION" '$1==v && $2=="main" {print $3}')"

i=0
until $SUDO runuser -u postgres -- psql -p "$PORT" -qAtc "select 1" >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -lt 30 ] || { echo "ci-postgres: the cluster did not start" >&2; exit 1; }
    sleep 1
done

# A login role that may create databases (each hub test makes its own), and its database.
$SUDO runuser -u postgres -- psql -p "$PORT" -qAt -v ON_ERROR_STOP=1 >&2 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
    CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD';
  ELSE
    ALTER ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD';
  END IF;
END \$\$;
SQL
if ! $SUDO runuser -u postgres -- psql -p "$PORT" -qAtc "select 1 from pg_database where datname = '$DB'" | grep -q 1; then
    $SUDO runuser -u postgres -- createdb -p "$PORT" -O "$ROLE" "$DB" >&2
fi

URL="postgresql+psycopg://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DB"
echo "ci-postgres: $URL" >&2
echo "export INTAKE_TEST_PG_URL='$URL'"
