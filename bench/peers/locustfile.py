"""Locust's side of cutover's peer benchmark (bench/peers/run.sh).

One task, the candidate OIDC journey of a patient, paced so that all users
together start PEERS_RATE journeys a second:

  GET  /authorize   PKCE S256; the answer is the login form (id login-form)
  POST /login       username, password, auth_request; 303 to the redirect URI,
                    which is read for the code and never followed
  POST /token       grant_type=authorization_code with the code verifier
  POST /token       grant_type=refresh_token, once
  POST /revoke      the (rotated) refresh token

Environment: PEERS_RATE (journeys/s), PEERS_USERS (the -u given to locust),
PEERS_CREDENTIALS (CSV username,password: the accounts run.sh provisioned),
PEERS_OUT (a JSON file written at exit: journeys started, completed and failed,
and the token requests' latencies as Locust measured them, in whole ms as
FastHttpUser reports them).
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
        self.client.cookiejar.clear()  # a new browser: no single sign-on session
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
                return False
        form = {"username": username, "password": password, "auth_request": m.group(1)}
        with self.client.post("/login", data=urlencode(form), headers=FORM, name="POST /login",
                              allow_redirects=False, catch_response=True) as r:
            code = parse_qs(urlparse(r.headers.get("location", "")).query).get("code", [""])[0]
            if r.status_code != 303 or not code:
                r.failure(f"no code (HTTP {r.status_code})")
                return False
        refresh = self.token("POST /token (code)", {
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
            "client_id": CLIENT_ID, "code_verifier": verifier})
        if not refresh:
            return False
        refresh = self.token("POST /token (refresh)", {
            "grant_type": "refresh_token", "refresh_token": refresh, "client_id": CLIENT_ID})
        if not refresh:
            return False
        with self.client.post("/revoke", name="POST /revoke", headers=FORM, catch_response=True,
                              data=urlencode({"token": refresh, "token_type_hint": "refresh_token",
                                              "client_id": CLIENT_ID})) as r:
            if r.status_code != 200:
                r.failure(f"revocation refused (HTTP {r.status_code})")
                return False
        return True

    def token(self, name, form):
        """POSTs form to the token endpoint; returns the refresh token, or None."""
        with self.client.post("/token", data=urlencode(form), headers=FORM, name=name,
                              catch_response=True) as r:
            try:
                refresh = r.json().get("refresh_token") if r.status_code == 200 else None
            except ValueError:
                refresh = None
            if not refresh:
                r.failure(f"no refresh token (HTTP {r.status_code})")
            return refresh

