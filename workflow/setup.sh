#!/usr/bin/env bash
# One-time (and idempotent) setup: Debian's ffmpeg when missing, then a local .venv with msl installed.
# Re-running is cheap: pip runs again only when pyproject.toml has changed.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v ffmpeg >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ffmpeg with apt-get" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null
  else
    echo "setup: ffmpeg is missing; install it (Debian/Ubuntu: sudo apt-get install ffmpeg) and rerun" >&2
    exit 1
  fi
fi

# The scenes dataset fetches its stamps with `apt-get download`, which needs package lists.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && ! ls /var/lib/apt/lists/*Packages* >/dev/null 2>&1; then
  apt-get update -qq
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=.venv/.msl-installed
want=$(sha256sum pyproject.toml | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing msl and its pinned stack into .venv (torch is large: first run takes minutes)" >&2
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -e '.[dev,convert]'
  echo "$want" > "$stamp"
fi
