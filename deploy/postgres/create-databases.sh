#!/usr/bin/env bash
# One database per service, each owned by a role of the same name: a service's URL reaches its
# own data and nothing else. The postgres image runs this once, when its data volume is empty
# (/docker-entrypoint-initdb.d); on a volume that already exists, a service added later needs
# its line run by hand. The roles' password comes from COMMUNS_DB_PASSWORD, as in the services'
# COMMUNS_DATABASE_URL.
set -Eeo pipefail

create_database() {
  # psql interpolates :"name" and :'password' itself, quoted as an identifier and a literal.
  psql --no-psqlrc --set ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    --set name="$1" --set password="$COMMUNS_DB_PASSWORD" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
SQL
}

create_database identity
create_database subscriptions
create_database billing
create_database eadmin
create_database eservices
create_database procurement
create_database opendata
create_database participation
create_database alerting
create_database accessibility
