# Sourced by ./bazelw and tools/bazel: makes .venv match requirements.txt.
# Idempotent: reinstalls only when requirements.txt changed since the last
# successful install (its hash is kept in .venv/.requirements.sha256).
kd_tf_ensure_venv() {
  local root="$1"
  local venv="$root/.venv"
  local want have
  want=$(sha256sum "$root/requirements.txt" | cut -d' ' -f1)
  have=$(cat "$venv/.requirements.sha256" 2>/dev/null || true)
  if [ "$want" != "$have" ]; then
    local python="${KD_TF_PYTHON:-python3}"
    if ! command -v "$python" >/dev/null 2>&1; then
      echo "kd_tf: $python is not on PATH; install Python 3.11 (or set KD_TF_PYTHON)." >&2
      return 1
    fi
    echo "kd_tf: installing requirements.txt into $venv (first run, or the file changed) ..." >&2
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv" || return 1
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/requirements.txt" >&2 \
      || { echo "kd_tf: pip install failed; see the messages above." >&2; return 1; }
    echo "$want" > "$venv/.requirements.sha256"
  fi
  export PATH="$venv/bin:$PATH"
  export VIRTUAL_ENV="$venv"
}
