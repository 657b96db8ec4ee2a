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
  const verifier = b64url(crypto.randomBytes(48));
  context.vars.verifier = verifier;
  context.vars.challenge = b64url(crypto.createHash('sha256').update(verifier).digest());
  context.vars.state = b64url(crypto.randomBytes(12));
  context.vars.nonce = b64url(crypto.randomBytes(12));
  return done();
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

module.exports = { pkce, codeFromRedirect, expectOK };
