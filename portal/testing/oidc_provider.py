"""A real OpenID Provider on 127.0.0.1 for sign-in tests: the OpenID-certified `oidc-provider`
npm package (v8.8, which supports Node 20) run by Node, installed on first use into a cache dir
(PORTAL_TEST_CACHE, default ~/.cache/gpu-portal) with `npm install`: a fresh machine needs only
node and npm.

The provider signs with an RSA key the test owns (`private_jwk`), so a test can also mint
tokens "from the provider" with bad claims; users log in on its dev login form with any password;
each user's groups come from a JSON file the test rewrites (`set_groups`).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from .receivers import free_port

VERSION = "8.8.1"
CACHE = Path(os.environ.get("PORTAL_TEST_CACHE", Path.home() / ".cache" / "gpu-portal"))

OP_SCRIPT = r"""
import fs from 'node:fs';
import Provider from 'oidc-provider';

const cfg = JSON.parse(fs.readFileSync(process.env.OP_CONFIG, 'utf8'));
const groupsOf = (id) => {
  try { return JSON.parse(fs.readFileSync(cfg.groupsFile, 'utf8'))[id] || []; }
  catch (e) { return []; }
};
const provider = new Provider(cfg.issuer, {
  clients: [cfg.client],
  jwks: { keys: [cfg.jwk] },
  claims: { openid: ['sub'], profile: ['preferred_username', 'groups', 'given_name', 'family_name'],
            email: ['email'] },
  scopes: ['openid', 'profile', 'email'],
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  pkce: { required: () => true, methods: ['S256'] },
  ttl: { IdToken: 600, AccessToken: 600, AuthorizationCode: 60, Session: 3600, Interaction: 600,
         Grant: 3600 },
  async findAccount(ctx, id) {
    return { accountId: id, async claims() {
      return { sub: id, preferred_username: id, email: `${id}@example.com`, given_name: id,
               family_name: 'Tester', groups: groupsOf(id) };
    } };
  },
  async loadExistingGrant(ctx) {  // first-party client: no consent screen
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId,
                                                accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile email');
    await grant.save();
    return grant;
  },
});
provider.listen(cfg.port, '127.0.0.1', () => console.log('listening'));
"""


def _b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def rsa_jwk(kid: str) -> tuple[dict, object]:
    """A private RSA JWK (for the provider) and the key object (for the test to sign with)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    priv, pub = key.private_numbers(), key.public_key().public_numbers()
    jwk = {
        "kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
        "n": _b64(pub.n), "e": _b64(pub.e), "d": _b64(priv.d), "p": _b64(priv.p),
        "q": _b64(priv.q), "dp": _b64(priv.dmp1), "dq": _b64(priv.dmq1), "qi": _b64(priv.iqmp),
    }  # fmt: skip
    return jwk, key


def install() -> Path:
    """node_modules with oidc-provider, installed once per machine (file-locked for xdist)."""
    home = CACHE / f"oidc-provider-{VERSION}"
    marker = home / "node_modules" / "oidc-provider" / "package.json"
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            npm = shutil.which("npm")
            if npm is None:
                raise RuntimeError("npm not found: install Node.js 20+ with npm")
            (home / "package.json").write_text('{"private": true, "type": "module"}\n')
            subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--loglevel=error",
                 f"oidc-provider@{VERSION}"],
                cwd=home, check=True, timeout=600,
            )  # fmt: skip
    (home / "op.mjs").write_text(OP_SCRIPT)
    return home


class OpenIDProvider:
    def __init__(self, *, client_id: str, client_secret: str, redirect_uri: str, logout_uri: str):
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.dir = Path(tempfile.mkdtemp(prefix="oidc-op-"))
        self.groups_file = self.dir / "groups.json"
        self.groups_file.write_text("{}")
        self.private_jwk, self.signing_key = rsa_jwk("op-key-1")
        self.client = {
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uris": [redirect_uri],
            "post_logout_redirect_uris": [logout_uri],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_post",
        }
        self.proc: subprocess.Popen | None = None

    def set_groups(self, username: str, groups: list[str]) -> None:
        data = json.loads(self.groups_file.read_text())
        data[username] = groups
        self.groups_file.write_text(json.dumps(data))

    def start(self, timeout: float = 30) -> OpenIDProvider:
        home = install()
        config = self.dir / "config.json"
        config.write_text(
            json.dumps(
                {
                    "issuer": self.issuer,
                    "port": self.port,
                    "client": self.client,
                    "jwk": self.private_jwk,
                    "groupsFile": str(self.groups_file),
                }
            )
        )
        log = open(self.dir / "op.log", "w")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            ["node", str(home / "op.mjs")],
            cwd=home,
            env={**os.environ, "OP_CONFIG": str(config), "NODE_ENV": "development"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"oidc-provider exited:\n{self.log()}")
            try:
                url = self.issuer + "/.well-known/openid-configuration"
                if requests.get(url, timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"oidc-provider not ready after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        path = self.dir / "op.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
