// The OpenID provider of the test suite: the certified `oidc-provider` package (see VENDORED.md), started by
// tests/oidc/conftest.py on a free localhost port as
//
//     node provider.mjs CONFIG.json
//
// CONFIG.json (written by the fixture): {"port", "clients": [{client_id, client_secret, redirect_uris,
// post_logout_redirect_uris}], "accounts": {"<sub>": {claims…}}}. Accounts are read again from the file at
// every sign-in, so a test can add one. Sign-in is the package's own login form (devInteractions: any
// password for a known account); consent is granted for the registered clients (first-party).
//
// The only departure from a production set-up: the suite's web servers listen on a free port each, so a
// registered redirect URI matches on 127.0.0.1 whatever the port (RFC 8252 §7.3 does the same for native
// clients). Nothing about tokens (lifetimes, signing) is changed: the ID token lives the package's default hour.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const configPath = process.argv[2];
const read = () => JSON.parse(readFileSync(configPath, 'utf8'));
const config = read();

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-provider-1', use: 'sig', alg: 'RS256' };

const anyPort = (uri) => uri.replace(/^http:\/\/127\.0\.0\.1:\d+\//, 'http://127.0.0.1:*/');

const provider = new Provider(`http://127.0.0.1:${config.port}`, {
  clients: config.clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris,
    post_logout_redirect_uris: c.post_logout_redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  jwks: { keys: [signingKey] },
  cookies: { keys: ['hazard-registry-test-provider-cookie-key'] },
  pkce: { required: () => true },
  conformIdTokenClaims: false, // the scopes' claims go into the ID token too (the registry reads them there)
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email'],
    org: ['org_code', 'groups'],
  },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'org'],
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  async findAccount(ctx, sub) {
    const claims = read().accounts[sub];
    if (!claims) return undefined;
    return { accountId: sub, async claims() { return { sub, ...claims }; } };
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile email org');
    await grant.save();
    return grant;
  },
});

const redirectUriAllowed = provider.Client.prototype.redirectUriAllowed;
provider.Client.prototype.redirectUriAllowed = function allowed(uri) {
  return redirectUriAllowed.call(this, uri) || this.redirectUris.map(anyPort).includes(anyPort(uri));
};
const postLogoutAllowed = provider.Client.prototype.postLogoutRedirectUriAllowed;
provider.Client.prototype.postLogoutRedirectUriAllowed = function allowed(uri) {
  return postLogoutAllowed.call(this, uri) || (this.postLogoutRedirectUris || []).map(anyPort).includes(anyPort(uri));
};

// The package's pages import a web font from the internet, which the suite's machines do not reach (and the
// browser tests refuse any request to another host): leave it out. Browsers also ask every host for a
// favicon; answer it, so that a test's browser sees no failed request.
provider.use(async (ctx, next) => {
  if (ctx.path === '/favicon.ico') {
    ctx.status = 204;
    return;
  }
  await next();
  if (typeof ctx.body === 'string' && ctx.body.includes('@import url(https://')) {
    ctx.body = ctx.body.replace(/@import url\(https:[^)]*\);?/g, '');
  }
});

provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`listening ${provider.issuer}\n`);
});
