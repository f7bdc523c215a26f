"""Drives Carelog's FHIR server as an EHR connector would, with fhirpy (a widely used FHIR client)
for read, vread, history, search with paging and $everything, and requests + PyJWT for what fhirpy
does not speak (Bulk Data $export, the SMART Backend Services token endpoint).

Usage: drive.py before-restart|after-restart FIXTURE.json
Every resource received is saved under fixture["received"] for @medplum/core to validate.
"""

import json
import os
import sys
import time
import uuid

import jwt
import requests
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import AuthorizationError, ForbiddenError, OperationOutcome, ResourceNotFound

PHASE, FIXTURE = sys.argv[1], json.load(open(sys.argv[2]))
BASE, CLIENT, TOKENS = FIXTURE["base"], FIXTURE["client"], FIXTURE["tokens"]
RECEIVED = FIXTURE["received"]
os.makedirs(RECEIVED, exist_ok=True)
FHIR_JSON = "application/fhir+json"


def check(condition, message):
    if not condition:
        raise AssertionError(message)
    print(f"ok: {message}")


def keep(name, resource):
    """Saves a received resource (or Bundle) for validation."""
    with open(os.path.join(RECEIVED, f"{PHASE}-{name}.json"), "w") as f:
        json.dump(resource, f)


def fhir(token):
    return SyncFHIRClient(BASE, authorization=f"Bearer {token}")


def http(method, path, token=None, **kwargs):
    headers = kwargs.pop("headers", {})
    headers.setdefault("Accept", FHIR_JSON)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    url = path if path.startswith("http") else f"{BASE}/{path}"
    return requests.request(method, url, headers=headers, timeout=30, **kwargs)


def refused(response, status, code):
    """An error answer is an OperationOutcome with the right status and issue code."""
    check(response.status_code == status, f"{response.request.method} {response.url} -> {status} (got {response.status_code})")
    body = response.json()
    check(body["resourceType"] == "OperationOutcome" and body["issue"][0]["code"] == code, f"OperationOutcome {code}")
    keep(f"outcome-{status}-{uuid.uuid4().hex[:8]}", body)


def expect_raise(kind, fn, message):
    try:
        fn()
    except kind:
        print(f"ok: {message}")
        return
    raise AssertionError(f"{message}: no {kind.__name__}")


def discovery_and_reads():
    capability = http("GET", "metadata").json()
    keep("capability", capability)
    types = {r["type"] for r in capability["rest"][0]["resource"]}
    check(capability["resourceType"] == "CapabilityStatement" and "Practitioner" in types, "CapabilityStatement lists the types")

    auditor = fhir(TOKENS["auditor"])
    patient = auditor.reference("Patient", CLIENT).to_resource()
    check(patient["id"] == CLIENT and patient["meta"]["versionId"], "read Patient")
    keep("patient", patient.serialize())

    consents = auditor.resources("Consent").search(patient=f"Patient/{CLIENT}").fetch_all()
    check(len(consents) >= 5, f"search Consent by patient ({len(consents)})")
    rules = sorted(c["policyRule"]["coding"][0]["code"] for c in consents)
    check("42CFRPart2" in rules and "OPTIN" in rules, f"policy rules {rules}")
    for c in consents:
        check(c.get("policyRule") or c.get("policy"), f"Consent/{c['id']} names its policy (ppc-1)")

    # Paging: two per page, fhirpy follows Bundle.link next to the end.
    encounters = auditor.resources("Encounter").search(patient=CLIENT).limit(2)
    first_page = auditor.execute("Encounter", method="get", params={"patient": CLIENT, "_count": 2})
    keep("encounter-page", first_page)
    check(any(l["relation"] == "next" for l in first_page["link"]), f"first page of {first_page['total']} links to the next")
    every = encounters.fetch_all()
    check(len(every) == first_page["total"] and len(every) > 2, f"paged through all {len(every)} Encounters")
    check(len({e["id"] for e in every}) == len(every), "no Encounter twice across pages")
    check(encounters.count() == len(every), "count() agrees")

    # A reference inside a resource resolves with a read: a clinician is a Practitioner now.
    encounter = auditor.resources("Encounter").search(patient=CLIENT).first()
    who = encounter["participant"][0]["individual"]["reference"]
    practitioner = auditor.reference(*who.split("/")).to_resource()
    check(practitioner["resourceType"] == "Practitioner", f"{who} resolves")
    keep("practitioner", practitioner.serialize())

    everything = auditor.execute(f"Patient/{CLIENT}/$everything", method="get", params={"_count": 500})
    keep("everything", everything)
    kinds = {e["resource"]["resourceType"] for e in everything["entry"]}
    check({"Patient", "Consent", "Encounter", "Claim", "Provenance", "Practitioner"} <= kinds, f"$everything: {sorted(kinds)}")
    for entry in everything["entry"]:
        keep(f"{entry['resource']['resourceType']}-{entry['resource']['id']}", entry["resource"])
    check(not any("psychotherapy" in json.dumps(e).lower() and "note text" in json.dumps(e).lower() for e in everything["entry"]), "no psychotherapy note")

    with_provenance = auditor.execute("Consent", method="get", params={"patient": CLIENT, "_revinclude": "Provenance:target"})
    modes = [e["search"]["mode"] for e in with_provenance["entry"]]
    check("include" in modes, "_revinclude=Provenance:target includes Provenances")
    with_patient = auditor.execute("Goal", method="get", params={"patient": CLIENT, "_include": "Goal:patient"})
    included = [e["resource"]["resourceType"] for e in with_patient["entry"] if e["search"]["mode"] == "include"]
    check(included == ["Patient"], "_include=Goal:patient includes the Patient once")
    return consents


def versions(consents):
    auditor = fhir(TOKENS["auditor"])
    # The revoked consent has two versions in the log: given, then revoked.
    consent = next(c for c in consents if c["id"] == FIXTURE["revoked_consent"])
    check(consent["status"] == "inactive", "the revoked consent reads as inactive")
    history = auditor.execute(f"Consent/{consent['id']}/_history", method="get")
    keep("consent-history", history)
    check(history["type"] == "history" and history["total"] == 2, f"history of Consent/{consent['id']}: {history['total']} versions")
    newest, oldest = history["entry"][0]["resource"], history["entry"][1]["resource"]
    check(newest["status"] == "inactive" and oldest["status"] == "active", "newest first: revoked, then given")
    check(int(newest["meta"]["versionId"]) > int(oldest["meta"]["versionId"]), "versions go up")
    at_given = auditor.execute(f"Consent/{consent['id']}/_history", method="get", params={"_at": oldest["meta"]["lastUpdated"]})
    check([e["resource"]["status"] for e in at_given["entry"]] == ["active"], "_at the time it was given: the active version")
    since = auditor.execute(f"Consent/{consent['id']}/_history", method="get", params={"_since": newest["meta"]["lastUpdated"]})
    check(since["total"] == 1, "_since the revocation: one version")
    for entry in history["entry"]:
        version = entry["resource"]["meta"]["versionId"]
        old = auditor.execute(f"Consent/{consent['id']}/_history/{version}", method="get")
        check(old["meta"]["versionId"] == version, f"vread version {version}")
        keep(f"consent-v{version}", old)
    missing = http("GET", f"Consent/{consent['id']}/_history/999999", TOKENS["auditor"])
    refused(missing, 404, "not-found")
    patient_history = auditor.execute(f"Patient/{CLIENT}/_history", method="get", params={"_since": "2000-01-01T00:00:00Z"})
    check(patient_history["total"] >= 1, "Patient history with _since")
    refused(http("GET", f"Patient/{CLIENT}/_history", TOKENS["auditor"], params={"_since": "yesterday"}), 400, "invalid")
    every_consent = auditor.execute("Consent/_history", method="get", params={"_since": "2000-01-01T00:00:00Z"})
    keep("consent-type-history", every_consent)
    ids = [e["resource"]["id"] for e in every_consent["entry"]]
    check(every_consent["total"] == len(consents) + 1 and ids.count(FIXTURE["revoked_consent"]) == 2,
          f"type history: every Consent version ({every_consent['total']})")
    first = auditor.execute("Consent/_history", method="get", params={"_count": 1})
    check(any(l["relation"] == "next" for l in first["link"]) and len(first["entry"]) == 1, "type history pages")
    at_type = auditor.execute("Consent/_history", method="get", params={"_at": oldest["meta"]["lastUpdated"]})
    revoked_then = [e["resource"] for e in at_type["entry"] if e["resource"]["id"] == FIXTURE["revoked_consent"]]
    check([c["status"] for c in revoked_then] == ["active"], "type history _at: each Consent as it was then, once")
    refused(http("GET", "Consent/_history", TOKENS["auditor"], params={"_at": "yesterday"}), 400, "invalid")
    check(fhir(TOKENS["other_clinician"]).execute("Consent/_history", method="get")["total"] == 0,
          "another clinician's type history holds none of this client's versions")


def refusals():
    refused(http("GET", f"Patient/{CLIENT}"), 401, "login")
    refused(http("GET", f"Patient/{CLIENT}", TOKENS["expired"]), 401, "login")
    refused(http("GET", f"Patient/{CLIENT}", "not-a-token"), 401, "login")
    expect_raise(ForbiddenError, lambda: fhir(TOKENS["biller"]).reference("Patient", CLIENT).to_resource(), "a biller is refused")
    expect_raise(ForbiddenError, lambda: fhir(TOKENS["intake"]).resources("Consent").search(patient=CLIENT).fetch(), "intake is refused")
    expect_raise(ForbiddenError, lambda: fhir(TOKENS["other_clinician"]).reference("Patient", CLIENT).to_resource(), "another clinician is refused")
    mine = fhir(TOKENS["clinician"]).reference("Patient", CLIENT).to_resource()
    check(mine["id"] == CLIENT, "the treating clinician reads their client")
    me = fhir(TOKENS["clinician"]).reference("Practitioner", FIXTURE["clinician"]).to_resource()
    check(me["id"] == FIXTURE["clinician"], "…and themselves as a Practitioner, through that client's record")
    expect_raise(ForbiddenError, lambda: fhir(TOKENS["other_clinician"]).reference("Practitioner", FIXTURE["clinician"]).to_resource(), "another clinician reaches no record naming them")
    others = fhir(TOKENS["other_clinician"]).resources("Patient").fetch_all()
    check(len(others) == 0, "another clinician's patient search finds nothing")
    expect_raise(ResourceNotFound, lambda: fhir(TOKENS["auditor"]).reference("Patient", str(uuid.uuid4())).to_resource(), "unknown id: 404")
    auditor = TOKENS["auditor"]
    refused(http("GET", "Observation", auditor, params={"patient": CLIENT, "_count": "-1"}), 400, "invalid")
    refused(http("GET", "Observation", auditor, params={"patient": CLIENT, "_count": "ten"}), 400, "invalid")
    huge = http("GET", "Observation", auditor, params={"patient": CLIENT, "_count": "99999999999999999999"})
    check(huge.status_code == 200 and len(huge.json()["entry"]) <= 500, "a huge _count is lowered")
    refused(http("GET", "Observation", auditor, params={"patient": CLIENT + "\x00"}), 400, "invalid")
    refused(http("GET", "Observation", auditor, params={"patient": CLIENT, "colour": "red"}), 400, "invalid")
    refused(http("GET", "Observation", auditor), 400, "invalid")
    refused(http("GET", "Patient/..%2F..%2Fetc", auditor), 400, "invalid")
    refused(http("GET", "Medication/abc", auditor), 404, "not-found")
    refused(http("PUT", f"Patient/{CLIENT}", auditor, json={"resourceType": "Patient"}), 405, "not-supported")
    refused(http("GET", "Group/abc/$export", auditor, headers={"Prefer": "respond-async"}), 404, "not-found")
    refused(http("GET", f"Patient/{CLIENT}", auditor, headers={"x-carelog-purpose-of-use": "SNOOPING"}), 400, "invalid")


def smart_token(key_path, alg, kid, scope, **overrides):
    config = requests.get(f"{BASE}/.well-known/smart-configuration", timeout=10).json()
    now = int(time.time())
    claims = {"iss": FIXTURE["smart"]["client_id"], "sub": FIXTURE["smart"]["client_id"], "aud": config["token_endpoint"],
              "exp": now + 240, "jti": str(uuid.uuid4())}
    claims.update(overrides)
    assertion = jwt.encode(claims, open(key_path).read(), algorithm=alg, headers={"kid": kid})
    form = {"grant_type": "client_credentials", "scope": scope,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": assertion}
    return requests.post(config["token_endpoint"], data=form, timeout=10), assertion, config


def smart():
    s = FIXTURE["smart"]
    response, assertion, config = smart_token(s["es384"], "ES384", "es-1", "system/*.read")
    check("private_key_jwt" in config["token_endpoint_auth_methods_supported"], "smart-configuration discovered")
    check(response.status_code == 200, f"ES384 assertion -> token ({response.status_code} {response.text})")
    token = response.json()
    check(token["token_type"].lower() == "bearer" and token["expires_in"] > 0, "a bearer token")
    found = fhir(token["access_token"]).resources("Patient").search(_id=CLIENT).fetch()
    check(len(found) == 1, "the SMART token searches Patients")

    rs, _, _ = smart_token(s["rs384"], "RS384", "rs-1", "system/Patient.read")
    check(rs.status_code == 200, "RS384 assertion -> token")
    narrow = rs.json()["access_token"]
    check(fhir(narrow).reference("Patient", CLIENT).to_resource()["id"] == CLIENT, "system/Patient.read reads a Patient")
    expect_raise(ForbiddenError, lambda: fhir(narrow).resources("Consent").search(patient=CLIENT).fetch(), "…but no Consent")

    token_url = config["token_endpoint"]
    replay = {"grant_type": "client_credentials", "scope": "system/*.read",
              "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": assertion}
    again = requests.post(token_url, data=replay, timeout=10)
    check(again.status_code == 401 and again.json()["error"] == "invalid_client", "a reused jti is refused")
    for label, args in [
        ("a wrong aud", (s["es384"], "ES384", "es-1", "system/*.read", {"aud": BASE})),
        ("an expired assertion", (s["es384"], "ES384", "es-1", "system/*.read", {"exp": int(time.time()) - 600})),
        ("an assertion valid for an hour", (s["es384"], "ES384", "es-1", "system/*.read", {"exp": int(time.time()) + 3600})),
        ("a forged assertion (unregistered key)", (s["unregistered"], "ES384", "es-1", "system/*.read", {})),
        ("another client's name", (s["es384"], "ES384", "es-1", "system/*.read", {"iss": "someone-else", "sub": "someone-else"})),
    ]:
        key, alg, kid, scope, overrides = args
        r, _, _ = smart_token(key, alg, kid, scope, **overrides)
        check(r.status_code == 401 and r.json()["error"] == "invalid_client", f"{label} is refused")
    r, _, _ = smart_token(s["es384"], "ES384", "es-1", "system/*.write")
    check(r.status_code == 400 and r.json()["error"] == "invalid_scope", "a write scope is refused")
    r = requests.post(token_url, data={"grant_type": "password", "username": "x"}, timeout=10)
    check(r.status_code == 400 and r.json()["error"] == "unsupported_grant_type", "another grant type is refused")
    return token["access_token"]


def kick_off(path, token, params=None):
    return http("GET", path, token, params=params or {}, headers={"Prefer": "respond-async", "Accept": FHIR_JSON})


def bulk_before_restart(token):
    refused(http("GET", "$export", token), 400, "invalid")  # no Prefer: respond-async
    refused(kick_off("$export", token, {"_type": "Medication"}), 400, "invalid")
    refused(kick_off("$export", TOKENS["biller"]), 403, "forbidden")
    started = kick_off("Patient/$export", token, {"_type": "Patient,Consent,Encounter,Practitioner"})
    check(started.status_code == 202 and started.headers["Content-Location"].startswith("http"), "kick-off: 202 + Content-Location")
    status_url = started.headers["Content-Location"]
    waiting = http("GET", status_url, token)
    check(waiting.status_code == 202 and "X-Progress" in waiting.headers, f"polling: 202 with X-Progress ({waiting.headers.get('X-Progress')})")
    refused(http("GET", status_url, TOKENS["auditor"]), 404, "not-found")  # someone else's job
    doomed = kick_off("$export", token, {"_since": "2000-01-01T00:00:00Z"})
    doomed_url = doomed.headers["Content-Location"]
    check(http("DELETE", doomed_url, token).status_code == 202, "DELETE cancels")
    refused(http("GET", doomed_url, token), 404, "not-found")
    json.dump({"status": status_url, "token": token}, open(FIXTURE["state"], "w"))


def bulk_after_restart():
    state = json.load(open(FIXTURE["state"]))
    # The SMART token died with the server (its key is never stored): a connector asks again.
    response, _, _ = smart_token(FIXTURE["smart"]["es384"], "ES384", "es-1", "system/*.read")
    token = response.json()["access_token"]
    refused(http("GET", state["status"], state["token"]), 401, "login")
    for _ in range(300):
        answer = http("GET", state["status"], token)
        if answer.status_code != 202:
            break
        time.sleep(0.1)
    check(answer.status_code == 200, f"the export finished after the restart ({answer.status_code})")
    manifest = answer.json()
    check(manifest["requiresAccessToken"] is True and manifest["transactionTime"], "manifest: token required, transactionTime")
    check(manifest["request"].startswith(f"{BASE}/Patient/$export?") and "_type=" in manifest["request"], f"manifest request {manifest['request']}")
    types = {o["type"] for o in manifest["output"]}
    check(types <= {"Patient", "Consent", "Encounter", "Practitioner"} and "Patient" in types, f"outputs {sorted(types)}")
    for output in manifest["output"]:
        check(output["url"].startswith("http"), f"{output['type']} at an http URL")
        refused(http("GET", output["url"]), 401, "login")
        refused(http("GET", output["url"], TOKENS["auditor"]), 404, "not-found")
        body = http("GET", output["url"], token, headers={"Accept": "application/fhir+ndjson"})
        check(body.status_code == 200, f"download {output['type']}")
        lines = [l for l in body.text.split("\n") if l.strip()]
        check(len(lines) == output["count"], f"{output['type']}: {len(lines)} lines")
        with open(os.path.join(RECEIVED, f"bulk-{output['type']}.ndjson"), "w") as f:
            f.write(body.text)
    check(http("DELETE", state["status"], token).status_code == 202, "a finished export is deleted")
    refused(http("GET", state["status"], token), 404, "not-found")

    # Group/{clinician}/$export: that clinician's caseload, and nothing of anyone else's.
    for clinician, expected in [(FIXTURE["clinician"], 1), (str(uuid.uuid4()), 0)]:
        started = kick_off(f"Group/{clinician}/$export", token, {"_type": "Patient"})
        check(started.status_code == 202, f"Group/{clinician}/$export accepted")
        for _ in range(300):
            answer = http("GET", started.headers["Content-Location"], token)
            if answer.status_code != 202:
                break
            time.sleep(0.1)
        outputs = answer.json()["output"]
        patients = sum(o["count"] for o in outputs if o["type"] == "Patient")
        check(answer.status_code == 200 and patients == expected, f"the caseload of {clinician}: {patients} Patient(s)")
        for output in outputs:
            with open(os.path.join(RECEIVED, f"group-{clinician}-{output['type']}.ndjson"), "w") as f:
                f.write(http("GET", output["url"], token).text)


if PHASE == "before-restart":
    consents = discovery_and_reads()
    versions(consents)
    refusals()
    bulk_before_restart(smart())
elif PHASE == "after-restart":
    check(fhir(TOKENS["auditor"]).reference("Patient", CLIENT).to_resource()["id"] == CLIENT, "reads after the restart")
    bulk_after_restart()
else:
    raise SystemExit(f"unknown phase {PHASE}")
print(f"{PHASE}: all checks passed")
