#!/usr/bin/env bash
# A guided walk through assetctl on the embedded SQLite default. It uses a private data and
# config directory under .demo/ so it never touches your real inventory.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .demo
export XDG_DATA_HOME="$PWD/.demo/data" XDG_CONFIG_HOME="$PWD/.demo/config"
unset ASSETCTL_DATABASE_URL ASSETCTL_CONFIG ASSETCTL_PROFILE ASSETCTL_TOKEN
# The demo keeps its session token in a 0600 file under .demo/ so it also runs on machines
# without an OS keyring; real use keeps it in the keyring.
export ASSETCTL_AUTH_STORAGE=file
DEMO_PASSWORD="demo passphrase, not for real use"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step assetctl --version
step assetctl init
printf '\n\033[1m$ assetctl auth register --email admin@example.com --password-stdin\033[0m\n'
printf '%s\n' "$DEMO_PASSWORD" | assetctl auth register --email admin@example.com --name "Demo Admin" --password-stdin -o table
printf '\n\033[1m$ assetctl auth login --email admin@example.com --password-stdin\033[0m\n'
printf '%s\n' "$DEMO_PASSWORD" | assetctl auth login --email admin@example.com --password-stdin
step assetctl auth status -o table
step assetctl asset add --tag LAP-0001 --name "ThinkPad T14 Gen 5" --category laptop \
    --manufacturer Lenovo --model "T14 Gen 5" --serial PF4XK2 --purchase-date 2026-03-02 \
    --purchase-cost 1349.00 --warranty-until 2029-03-01 --location "HQ / IT room"
step assetctl asset add --tag MON-0001 --name "Dell U2724D" --category monitor --serial CN0X9 \
    --location "HQ / desk 12"
step assetctl asset add --tag PHN-0001 --name "Pixel 9" --category phone --serial R5CX31
step assetctl asset list -o table
step assetctl asset show LAP-0001 -o table
step assetctl asset update LAP-0001 --location "Berlin office" --notes "new battery 2026-11"
step assetctl asset assign LAP-0001 --to alice@example.com -o table
step assetctl asset list --status assigned -o json
step assetctl asset history LAP-0001 -o table
step assetctl asset delete PHN-0001 --yes
step assetctl asset list --deleted -o table
step assetctl asset restore PHN-0001
step assetctl asset list --sort tag:desc -o table
step assetctl doctor
printf '\nDone. The demo database is %s/assetctl/assetctl.db\n' "$XDG_DATA_HOME"
