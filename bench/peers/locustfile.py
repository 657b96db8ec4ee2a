"""Locust's side of cutover's peer benchmark (bench/peers/run.sh).

One task, the candidate OIDC journey of a patient, paced so that all users
together start PEERS_RATE journeys a second. PEERS_JOURNEY says which:

short (the peers' journey, 5 requests):
  GET  /authorize   PKCE S256; the answer is the login form (id login-form)
  POST /login       username, password, auth_request; 303 to the redirect URI,
                    which is read for the code and never followed
  POST /token       grant_type=authorization_code with the code verifier
  POST /token       grant_type=refresh_token, once
  POST /revoke      the (rotated) refresh token

full (cutover's journey, the same requests in the same order: 14 on a stack
that revokes the token family on reuse, as the embedded candidate does):
  sign-in           GET /authorize, POST /login, POST /token (code)
  POST /token       refresh; the refresh token must be rotated
  POST /token       the previous refresh token replayed: must be refused
  POST /token       the newest one: refused when the stack revoked the family
                    (then sign in again: 3 requests), else the journey goes on
                    with what it answered
  POST /revoke      the refresh token, then the access token (logout)
  POST /introspect  each of the two, as the introspection client: inactive
  POST /token       the revoked refresh token: must be refused
  Unlike cutover it verifies no token's signature and writes no record.

Environment: PEERS_JOURNEY (short or full; short when unset), PEERS_RATE
(journeys/s), PEERS_USERS (the -u given to locust),
PEERS_CREDENTIALS (CSV username,password: the accounts run.sh provisioned),
PEERS_OUT (a JSON file written at exit: journeys started, completed and failed,
and the token requests' latencies as Locust measured them, in whole ms as
FastHttpUser reports them), PEERS_INTROSPECTION_SECRET_FILE (full only: the
introspection client's secret, as `cutover stacks` writes it).
"""

import base64
import csv
import hashlib
import itertools
import json
import os
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlparse

from locust import FastHttpUser, constant_pacing, events, task

CLIENT_ID = "cutover-harness"
REDIRECT_URI = "http://localhost/cutover/callback"
AUTH_REQUEST = re.compile(r'name="auth_request" value="([^"]+)"')
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

JOURNEY = os.environ.get("PEERS_JOURNEY", "short")
if JOURNEY not in ("short", "full"):
    raise SystemExit(f"PEERS_JOURNEY={JOURNEY}: want short or full")
INTROSPECTOR = None
if JOURNEY == "full":
    with open(os.environ["PEERS_INTROSPECTION_SECRET_FILE"]) as f:
        # The header itself, per request: FastHttpSession keeps an auth= it is
        # given for the requests after it.
        INTROSPECTOR = {**FORM, "Authorization": "Basic " + base64.b64encode(
            ("cutover-introspector:" + f.read().strip()).encode()).decode()}
RATE = float(os.environ["PEERS_RATE"])
USERS = int(os.environ["PEERS_USERS"])
with open(os.environ["PEERS_CREDENTIALS"], newline="") as f:
    PATIENTS = [(row["username"], row["password"]) for row in csv.DictReader(f)]
NEXT_PATIENT = itertools.cycle(PATIENTS)

tally = {"started": 0, "completed": 0, "failed": 0}
token_ms = {"POST /token (code)": [], "POST /token (refresh)": []}


@events.request.add_listener
def on_request(name, response_time, exception, **_):
    if exception is None and name in token_ms:
        token_ms[name].append(response_time)


@events.quitting.add_listener
def on_quitting(**_):
    with open(os.environ["PEERS_OUT"], "w") as f:
        json.dump({**tally, "token_ms": token_ms}, f)


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Patient(FastHttpUser):
    # Each user starts a journey every USERS/RATE seconds, however long the last
    # one took (until a journey outlasts it: then the user falls behind).
    wait_time = constant_pacing(USERS / RATE)

    @task
    def journey(self):
        tally["started"] += 1
        tally["completed" if self.steps() else "failed"] += 1

    def steps(self):
        """Runs the journey's requests; False at the first that fails."""
        tokens = self.sign_in()
        if not tokens:
            return False
        if JOURNEY == "full":
            return self.full(tokens)
        rotated = self.token("POST /token (refresh)", self.refresh_form(tokens["refresh_token"]))
        if not rotated:
            return False
        return self.revoke(rotated["refresh_token"], "refresh_token")

    def sign_in(self):
        """Authorize with PKCE, the login form, the code for tokens: the tokens, or None.
        Each sign-in is a new browser (no single sign-on session), as cutover's."""
        self.client.cookiejar.clear()
        username, password = next(NEXT_PATIENT)
        verifier = b64url(secrets.token_bytes(48))
        query = urlencode({
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid profile offline_access",
            "state": b64url(secrets.token_bytes(12)),
            "nonce": b64url(secrets.token_bytes(12)),
            "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        })
        with self.client.get("/authorize?" + query, name="GET /authorize", catch_response=True) as r:
            m = AUTH_REQUEST.search(r.text or "")
            if r.status_code != 200 or not m:
                r.failure(f"no login form (HTTP {r.status_code})")
                return None
        form = {"username": username, "password": password, "auth_request": m.group(1)}
        with self.client.post("/login", data=urlencode(form), headers=FORM, name="POST /login",
                              allow_redirects=False, catch_response=True) as r:
            code = parse_qs(urlparse(r.headers.get("location", "")).query).get("code", [""])[0]
            if r.status_code != 303 or not code:
                r.failure(f"no code (HTTP {r.status_code})")
                return None
        return self.token("POST /token (code)", {
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
            "client_id": CLIENT_ID, "code_verifier": verifier})

    def full(self, tokens):
        """cutover's journey after the sign-in (see the module's doc)."""
        prev = tokens["refresh_token"]
        tokens = self.token("POST /token (refresh)", self.refresh_form(prev))
        if not tokens:
            return False
        if tokens["refresh_token"] == prev:
            return False  # not rotated: cutover would stop its checks here
        if self.refused("POST /token (replay)", prev) is not True:
            return False
        answer = self.refused("POST /token (family)", tokens["refresh_token"])
        if answer is None:
            return False
        if answer is True:
            tokens = self.sign_in()  # the family is dead: sign in again
            if not tokens:
                return False
        else:
            tokens = answer
        for tok, hint in ((tokens["refresh_token"], "refresh_token"), (tokens["access_token"], "access_token")):
            if not self.revoke(tok, hint):
                return False
        for tok in (tokens["access_token"], tokens["refresh_token"]):
            with self.client.post("/introspect", data=urlencode({"token": tok}), headers=INTROSPECTOR,
                                  name="POST /introspect", catch_response=True) as r:
                try:
                    active = r.json().get("active") if r.status_code == 200 else None
                except ValueError:
                    active = None
                if active is not False:
                    r.failure(f"introspection after revocation: HTTP {r.status_code}, active {active}")
                    return False
        return self.refused("POST /token (after logout)", tokens["refresh_token"]) is True

    @staticmethod
    def refresh_form(refresh):
        return {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": CLIENT_ID}

    def token(self, name, form):
        """POSTs form to the token endpoint; returns the tokens (with a refresh token), or None."""
        with self.client.post("/token", data=urlencode(form), headers=FORM, name=name,
                              catch_response=True) as r:
            try:
                tokens = r.json() if r.status_code == 200 else None
            except ValueError:
                tokens = None
            if not tokens or not tokens.get("refresh_token"):
                r.failure(f"no refresh token (HTTP {r.status_code})")
                return None
            return tokens

    def refused(self, name, refresh):
        """A refresh that should be refused: True when it was (HTTP 400 or
        401), the tokens when the stack answered some, None on anything else."""
        with self.client.post("/token", data=urlencode(self.refresh_form(refresh)), headers=FORM,
                              name=name, catch_response=True) as r:
            if r.status_code in (400, 401):
                r.success()
                return True
            try:
                tokens = r.json() if r.status_code == 200 else None
            except ValueError:
                tokens = None
            if tokens and tokens.get("refresh_token"):
                return tokens
            r.failure(f"HTTP {r.status_code}")
            return None

    def revoke(self, token, hint):
        with self.client.post("/revoke", name="POST /revoke", headers=FORM, catch_response=True,
                              data=urlencode({"token": token, "token_type_hint": hint,
                                              "client_id": CLIENT_ID})) as r:
            if r.status_code != 200:
                r.failure(f"revocation refused (HTTP {r.status_code})")
                return False
        return True
