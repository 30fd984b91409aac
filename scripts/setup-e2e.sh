#!/usr/bin/env bash
# Installs what the browser and VS Code tests need, from Debian's packages and the npm registry only, and
# caches it so a second run installs nothing:
#   - Debian: chromium (driven by playwright-core), libkrb5-dev (code-server builds a native module), ripgrep,
#     python3-pytest and golang-go (test/testResults.test.ts runs real pytest and go test suites and parses their output),
#     python3-toolz and golang-github-google-go-cmp-dev (real projects with their own tests, test/realProjects.test.ts)
#   - code-server@4.100.3 (VS Code 1.100.3, the newest whose engines accept Node 20) in $DEV_AI_CACHE
# Prints nothing but progress; exits non-zero with a clear message when something cannot be installed.
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
# @vscode/ripgrep's postinstall downloads rg from GitHub; it first looks for a cached archive. Debian's rg,
# packed under that name, satisfies it offline. Both numbers come from code-server's npm-shrinkwrap.
RIPGREP_PACKAGE_VERSION=1.15.11
RIPGREP_TAG=v13.0.0-10

cache="${DEV_AI_CACHE:-$HOME/.cache/dev-ai}"
prefix="$cache/code-server-$CODE_SERVER_VERSION"

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v rg >/dev/null || need_apt+=(ripgrep)
# Debian's pytest belongs to /usr/bin/python3, which the tests fall back to when another python3 comes first on PATH.
{ python3 -m pytest --version || /usr/bin/python3 -m pytest --version; } >/dev/null 2>&1 || need_apt+=(python3-pytest)
command -v go >/dev/null || need_apt+=(golang-go)
[ -e /usr/include/gssapi/gssapi.h ] || dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
# Real projects for the verdict corpus (test/corpus/projects.ts): Debian installs their tests with them.
for pkg in python3-toolz golang-github-google-go-cmp-dev; do dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg"); done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup-e2e: installing Debian packages: ${need_apt[*]}"
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ -x "$prefix/node_modules/.bin/code-server" ]; then
  exit 0
fi

echo "setup-e2e: installing code-server@$CODE_SERVER_VERSION into $prefix (once; about a minute)"
rg_cache="$(node -p 'require("os").tmpdir()')/vscode-ripgrep-cache-$RIPGREP_PACKAGE_VERSION"
mkdir -p "$rg_cache"
archive="$rg_cache/ripgrep-$RIPGREP_TAG-x86_64-unknown-linux-musl.tar.gz"
[ -f "$archive" ] || tar czf "$archive" -C "$(dirname "$(command -v rg)")" rg

rm -rf "$prefix.partial"
mkdir -p "$prefix.partial"
echo '{ "name": "dev-ai-code-server", "private": true }' >"$prefix.partial/package.json"
(
  cd "$prefix.partial"
  # Root refuses postinstall scripts without unsafe-perm; a nested `npx node-gyp` must not prompt.
  npm_config_unsafe_perm=true npm_config_yes=true npm install --no-audit --no-fund --loglevel=error \
    "code-server@$CODE_SERVER_VERSION" >install.log 2>&1 || { tail -40 install.log; exit 1; }
)
mv "$prefix.partial" "$prefix"
echo "setup-e2e: code-server ready"
