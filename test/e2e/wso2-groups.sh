#!/usr/bin/env bash
# Replays, with curl, the requests WSO2 Identity Server's SCIM2 outbound connector sends for a group's life
# (docs/idp-behaviour.md#wso2-sequences): member look-ups by `userName Eq`, create with members, `displayName Eq
# PRIMARY/<name>` look-ups, the full-membership PUT, PATCH-mode add/remove, rename, and delete.
# Usage: SCIM_BASE=http://127.0.0.1:8080/scim/v2 SCIM_USER=wso2 SCIM_PASSWORD=... test/e2e/wso2-groups.sh
# Needs curl and jq. Exits non-zero at the first answer that is not what WSO2 IS needs.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TAG="${E2E_TAG:-$$}"
GROUP="${E2E_GROUP:-sales-emea-$TAG}"
RENAMED="$GROUP-renamed"

user_id() { # userName -> id (LOOKUP)
  local status; status="$(user_lookup "$1")"
  expect_status "$status" 200
  [ "$(jq -r .totalResults "$OUT")" = 1 ] || fail "no user $1"
  jq -r '.Resources[0].id' "$OUT"
}
group_lookup() { # displayName (with the user-store domain, as WSO2 sends it) -> status; body in $OUT (GLOOKUP)
  call GET "$BASE/Groups?filter=displayName%20Eq%20$(enc "PRIMARY/$1")&startIndex=1&count=1"
}
member() { jq -cn --arg v "$1" --arg d "$2" '{value: $v, display: $d}'; }
members_of() { # group id -> sorted member ids, one line
  local status; status="$(call GET "$BASE/Groups/$1")"
  expect_status "$status" 200
  jq -r '[.members // [] | .[].value] | sort | join(",")' "$OUT"
}

step "provision three users (WSO2 creates users before their group)"
declare -A ID
for who in ana ben cai; do
  name="$who.$TAG@pickup.example"
  status="$(call POST "$BASE/Users" "{\"schemas\":[],\"userName\":\"$name\",\"password\":\"x-$TAG\",\"name\":{\"givenName\":\"$who\",\"familyName\":\"Tester\"},\"emails\":[\"$name\"]}")"
  expect_status "$status" 201
  ID[$who]="$(jq -r .id "$OUT")"
done
ANA="ana.$TAG@pickup.example"; BEN="ben.$TAG@pickup.example"; CAI="cai.$TAG@pickup.example"

step "group created: LOOKUP every member, then POST with members {value, display = userName}"
a="$(user_id "$ANA")"; b="$(user_id "$BEN")"
status="$(call POST "$BASE/Groups" "{\"schemas\":[],\"displayName\":\"PRIMARY/$GROUP\",\"members\":[$(member "$a" "$ANA"),$(member "$b" "$BEN")]}")"
expect_status "$status" 201
expect_json .displayName "$GROUP"
expect_json '.meta.resourceType' Group
GID="$(jq -r .id "$OUT")"
[[ "$GID" =~ ^00G[A-Za-z0-9]{15}$ ]] || fail "id is not a Salesforce public group id: $GID"
[ "$(members_of "$GID")" = "$(printf '%s\n' "$a" "$b" | sort | paste -sd,)" ] || fail "members after create"
echo "created $GID"

step "GLOOKUP: displayName Eq PRIMARY/<name>, startIndex=1&count=1"
status="$(group_lookup "$GROUP")"
expect_status "$status" 200
expect_json .totalResults 1
expect_json '.Resources[0].id' "$GID"

step "membership changed (default mode): GLOOKUP, LOOKUP every member, PUT the full list"
status="$(group_lookup "$GROUP")"; expect_status "$status" 200
b="$(user_id "$BEN")"; c="$(user_id "$CAI")"
status="$(call PUT "$BASE/Groups/$GID" "{\"schemas\":[],\"displayName\":\"PRIMARY/$GROUP\",\"members\":[$(member "$b" "$BEN"),$(member "$c" "$CAI")]}")"
expect_status "$status" 200
expect_json .displayName "$GROUP"
[ "$(members_of "$GID")" = "$(printf '%s\n' "$b" "$c" | sort | paste -sd,)" ] || fail "members after PUT"

step "membership changed (PATCH mode): one add with the new members, one remove per member that left"
status="$(group_lookup "$GROUP")"; expect_status "$status" 200
a="$(user_id "$ANA")"; c="$(user_id "$CAI")"
status="$(call PATCH "$BASE/Groups/$GID" "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":[{\"op\":\"add\",\"path\":\"members\",\"value\":[$(member "$a" "$ANA")]},{\"op\":\"remove\",\"path\":\"members[value eq \\\"$c\\\"]\"}]}")"
expect_status "$status" 200
expect_json .displayName "$GROUP"
[ "$(members_of "$GID")" = "$(printf '%s\n' "$a" "$b" | sort | paste -sd,)" ] || fail "members after PATCH"

step "the same PATCH again (a retry) changes nothing and is no error"
status="$(call PATCH "$BASE/Groups/$GID" "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":[{\"op\":\"add\",\"path\":\"members\",\"value\":[$(member "$a" "$ANA")]},{\"op\":\"remove\",\"path\":\"members[value eq \\\"$c\\\"]\"}]}")"
expect_status "$status" 200
[ "$(members_of "$GID")" = "$(printf '%s\n' "$a" "$b" | sort | paste -sd,)" ] || fail "members after the retried PATCH"

step "group renamed: GLOOKUP the old name, PATCH replace displayName"
status="$(group_lookup "$GROUP")"; expect_status "$status" 200
expect_json '.Resources[0].id' "$GID"
status="$(call PATCH "$BASE/Groups/$GID" "{\"Operations\":[{\"op\":\"replace\",\"path\":\"displayName\",\"value\":\"PRIMARY/$RENAMED\"}]}")"
expect_status "$status" 200
expect_json .displayName "$RENAMED"
status="$(group_lookup "$RENAMED")"; expect_status "$status" 200
expect_json .totalResults 1
expect_json '.Resources[0].id' "$GID"
status="$(group_lookup "$GROUP")"; expect_status "$status" 200
expect_json .totalResults 0

step "group deleted: GLOOKUP, DELETE with Content-Type application/json and no body"
status="$(group_lookup "$RENAMED")"; expect_status "$status" 200
status="$(call DELETE "$BASE/Groups/$GID")"
expect_status "$status" 204
status="$(call GET "$BASE/Groups/$GID")"
expect_status "$status" 404
status="$(group_lookup "$RENAMED")"; expect_status "$status" 200
expect_json .totalResults 0

printf '\nOK: WSO2 IS group sequence passed for %s (%s)\n' "$RENAMED" "$GID"
