#!/usr/bin/env bash
# Replays, with curl, the requests WSO2 Identity Server's SCIM2 outbound connector sends for a user's life:
# create, lookup, claim update (partial PUT), PATCH-mode update, delete, and rehire (docs/idp-behaviour.md#wso2-sequences).
# Usage: SCIM_BASE=http://127.0.0.1:8080/scim/v2 SCIM_USER=wso2 SCIM_PASSWORD=... test/e2e/wso2-sequence.sh
# Needs curl and jq. Exits non-zero at the first answer that is not what WSO2 IS needs.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NAME="${E2E_USERNAME:-kim.lee.$$@pickup.example}"

step "create (POST with empty schemas, string emails, password)"
status="$(call POST "$BASE/Users" "{\"schemas\":[],\"userName\":\"$NAME\",\"password\":\"5f3c9a2e-1b7d-4c1e-9f0a-8d2b6e4c7a11\",\"name\":{\"givenName\":\"Kim\",\"familyName\":\"Lee\"},\"emails\":[\"$NAME\"],\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"department\":\"Sales\"}}")"
expect_status "$status" 201
expect_json .userName "$NAME"
expect_json '.emails[0].value' "$NAME"
expect_json '.meta.resourceType' User
ID="$(jq -r .id "$OUT")"
[[ "$ID" =~ ^005[A-Za-z0-9]{15}$ ]] || fail "id is not a Salesforce User id: $ID"
echo "created $ID"

step "lookup (userName Eq <raw>, startIndex=1&count=1)"
status="$(user_lookup "$NAME")"
expect_status "$status" 200
expect_json .totalResults 1
expect_json '.Resources[0].id' "$ID"

step "claim update: partial PUT with only userName and the changed claim"
status="$(call PUT "$BASE/Users/$ID" "{\"schemas\":[],\"userName\":\"$NAME\",\"name\":{\"givenName\":\"Kimberly\"}}")"
expect_status "$status" 200
expect_json .name.givenName Kimberly
expect_json .name.familyName Lee
expect_json '.emails[0].value' "$NAME"
expect_json '."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".department' Sales

step "claim update in PATCH mode: one replace per attribute"
status="$(call PATCH "$BASE/Users/$ID" '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"name.familyName","value":"Lee-Park"},{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Field Sales"},{"op":"replace","path":"title","value":"Account Executive"}]}')"
expect_status "$status" 200
expect_json .name.familyName Lee-Park
expect_json .title 'Account Executive'
expect_json '."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".department' 'Field Sales'

step "read back by id"
status="$(call GET "$BASE/Users/$ID")"
expect_status "$status" 200
expect_json .active true
expect_json .name.givenName Kimberly

step "delete: lookup, then DELETE with Content-Type application/json and no body"
status="$(user_lookup "$NAME")"
expect_status "$status" 200
expect_json '.Resources[0].id' "$ID"
status="$(call DELETE "$BASE/Users/$ID")"
expect_status "$status" 204

step "after delete: the id is gone, and the lookup finds nothing"
status="$(call GET "$BASE/Users/$ID")"
expect_status "$status" 404
expect_json .status 404
status="$(user_lookup "$NAME")"
expect_status "$status" 200
expect_json .totalResults 0

step "rehire: POST the same userName again reactivates the same Salesforce user"
status="$(call POST "$BASE/Users" "{\"schemas\":[],\"userName\":\"$NAME\",\"password\":\"0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f\",\"name\":{\"givenName\":\"Kim\",\"familyName\":\"Lee\"},\"emails\":[\"$NAME\"]}")"
expect_status "$status" 201
expect_json .id "$ID"
expect_json .active true
expect_json .name.givenName Kim
status="$(user_lookup "$NAME")"
expect_json .totalResults 1

step "duplicate create of an active user: 409 uniqueness"
status="$(call POST "$BASE/Users" "{\"schemas\":[],\"userName\":\"$NAME\",\"name\":{\"familyName\":\"Lee\"},\"emails\":[\"$NAME\"]}")"
expect_status "$status" 409
expect_json .scimType uniqueness

printf '\nOK: WSO2 IS user sequence passed for %s (%s)\n' "$NAME" "$ID"
