'use strict';
// Artillery processor for cutover's peer benchmark (artillery.yml): the PKCE
// S256 pair and the state of each journey, and the checks YAML cannot say.

const crypto = require('node:crypto');

const b64url = (buf) => buf.toString('base64url');

// Artillery creates every virtual user of a phase, however late: a journey
// counts as started on time when it starts within PEERS_DURATION_S of the
// first (counter peers.started_in_time), so that run.sh can tell a rate kept
// from a rate spread over a longer time.
const inTimeMs = Number(process.env.PEERS_DURATION_S || 0) * 1000;
let first = 0;

// pkce sets the journey's code verifier, its S256 challenge, state and nonce.
function pkce(context, events, done) {
  const now = Date.now();
  first = first || now;
  if (inTimeMs === 0 || now - first < inTimeMs) {
    events.emit('counter', 'peers.started_in_time', 1);
  }
  newAuthorization(context);
  return done();
}

// newAuthorization sets a new PKCE verifier, its S256 challenge, state and
// nonce: what one sign-in's authorization request sends.
function newAuthorization(context) {
  const verifier = b64url(crypto.randomBytes(48));
  context.vars.verifier = verifier;
  context.vars.challenge = b64url(crypto.createHash('sha256').update(verifier).digest());
  context.vars.state = b64url(crypto.randomBytes(12));
  context.vars.nonce = b64url(crypto.randomBytes(12));
}

// codeFromRedirect reads the code from the login's 303 to the redirect URI,
// which is not followed (it points at localhost).
function codeFromRedirect(_req, res, context, _events, done) {
  const location = res.headers.location || '';
  const code = res.statusCode === 303 && location
    ? new URL(location).searchParams.get('code')
    : null;
  if (!code) {
    return done(new Error(`login: no code (HTTP ${res.statusCode})`));
  }
  context.vars.code = code;
  return done();
}

// expectOK fails the journey unless the revocation answered 200; the token
// requests fail theirs through their captures.
function expectOK(req, res, _context, _events, done) {
  if (res.statusCode !== 200) {
    return done(new Error(`${req.name}: HTTP ${res.statusCode}`));
  }
  return done();
}

// The full journey's (artillery-full.yml) checks.

// tokenBody returns the tokens of a 200 answer with a refresh token, or null.
function tokenBody(res) {
  if (res.statusCode !== 200) {
    return null;
  }
  try {
    const body = JSON.parse(res.body);
    return body.refresh_token ? body : null;
  } catch {
    return null;
  }
}

// tokensFrom keeps the access and refresh tokens of a code exchange.
function tokensFrom(req, res, context, _events, done) {
  const body = tokenBody(res);
  if (!body) {
    return done(new Error(`${req.name}: no refresh token (HTTP ${res.statusCode})`));
  }
  context.vars.accessToken = body.access_token;
  context.vars.refreshToken = body.refresh_token;
  return done();
}

// keepPrevious remembers the refresh token about to be rotated.
function keepPrevious(context, _events, done) {
  context.vars.previousRefresh = context.vars.refreshToken;
  return done();
}

// rotatedFrom keeps the refreshed tokens; the refresh token must be new.
function rotatedFrom(req, res, context, events, done) {
  return tokensFrom(req, res, context, events, (err) => {
    if (!err && context.vars.refreshToken === context.vars.previousRefresh) {
      err = new Error(`${req.name}: the refresh token was not rotated`);
    }
    return done(err);
  });
}

// expectRefused passes a refusal (HTTP 400 or 401) and fails anything else.
function expectRefused(req, res, _context, _events, done) {
  if (res.statusCode !== 400 && res.statusCode !== 401) {
    return done(new Error(`${req.name}: HTTP ${res.statusCode}; want a refusal`));
  }
  return done();
}

// familyChecked: a refusal means the stack revoked the family (sign in again);
// tokens mean it lives on (the journey goes on with them).
function familyChecked(req, res, context, _events, done) {
  context.vars.relogin = res.statusCode === 400 || res.statusCode === 401;
  if (context.vars.relogin) {
    return done();
  }
  const body = tokenBody(res);
  if (!body) {
    return done(new Error(`${req.name}: HTTP ${res.statusCode}`));
  }
  context.vars.accessToken = body.access_token;
  context.vars.refreshToken = body.refresh_token;
  return done();
}

// relogin is the condition of the second sign-in's requests.
function relogin(vars) {
  return vars.relogin === true;
}

// reloginPkce starts the second sign-in as a new browser: a new PKCE pair, no
// cookies (no single sign-on session), as cutover does.
function reloginPkce(context, events, done) {
  if (!context.vars.relogin) {
    return done();
  }
  if (context._jar && typeof context._jar.removeAllCookiesSync === 'function') {
    context._jar.removeAllCookiesSync();
  }
  newAuthorization(context);
  return done();
}

// The introspection client's credentials (client_secret_basic), read once.
let introspector = null;
function asIntrospector(requestParams, _context, _events, done) {
  if (introspector === null) {
    const secret = require('node:fs')
      .readFileSync(process.env.PEERS_INTROSPECTION_SECRET_FILE, 'utf8').trim();
    introspector = 'Basic ' + Buffer.from(`cutover-introspector:${secret}`).toString('base64');
  }
  requestParams.headers = { ...(requestParams.headers || {}), authorization: introspector };
  return done();
}

// expectInactive: the revoked token must introspect inactive.
function expectInactive(req, res, _context, _events, done) {
  let active;
  try {
    active = res.statusCode === 200 ? JSON.parse(res.body).active : undefined;
  } catch {
    active = undefined;
  }
  if (active !== false) {
    return done(new Error(`${req.name}: HTTP ${res.statusCode}, active ${active}`));
  }
  return done();
}

module.exports = {
  pkce, codeFromRedirect, expectOK,
  tokensFrom, keepPrevious, rotatedFrom, expectRefused, familyChecked, relogin, reloginPkce,
  asIntrospector, expectInactive,
};
