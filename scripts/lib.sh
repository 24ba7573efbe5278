# Shared helpers for scripts/run and scripts/test. Source it; don't run it.
#
# After sourcing, the working directory is the repository root and
# ensure_venv has not run yet: call it.

MTC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$MTC_ROOT"

VENV="$MTC_ROOT/.venv"
VENV_PY="$VENV/bin/python"

# Colours only on a terminal.
if [[ -t 1 ]]; then _B=$'\e[1m'; _Y=$'\e[33m'; _R=$'\e[31m'; _N=$'\e[0m'; else _B=; _Y=; _R=; _N=; fi

header() { printf '\n%s==> %s%s\n' "$_B" "$*" "$_N"; }
info()   { printf '    %s\n' "$*"; }
warn()   { printf '%sWARNING:%s %s\n' "$_Y" "$_N" "$*" >&2; }
die()    { printf '%sERROR:%s %s\n' "$_R" "$_N" "$*" >&2; exit 1; }

# A database URL with its password replaced by ***, for printing.
mask_url() { sed -E 's#(://[^:/@]*:)[^@]*@#\1***@#' <<<"$1"; }

# Create .venv with Python 3.11 if it is missing or broken, and install
# requirements.txt unless the venv already holds exactly this file's packages
# (a sha256 of requirements.txt is kept in .venv after a successful install).
ensure_venv() {
    local python="${PYTHON:-python3.11}"
    if ! "$VENV_PY" -c 'import sys' >/dev/null 2>&1; then
        command -v "$python" >/dev/null 2>&1 \
            || die "$python not found: install Python 3.11 or set PYTHON=/path/to/python3.11"
        info "creating .venv with $("$python" --version 2>&1)"
        "$python" -m venv --clear "$VENV"
    fi

    local stamp="$VENV/.requirements.sha256" want
    want="$(sha256sum requirements.txt | cut -d' ' -f1) $("$VENV_PY" -c 'import sys; print(sys.version.split()[0])')"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        info ".venv is up to date with requirements.txt"
        return 0
    fi

    # Two scripts started at once must not run pip in the same venv together.
    exec 9>"$VENV/.install.lock"
    command -v flock >/dev/null 2>&1 && flock 9
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        exec 9>&-
        return 0
    fi
    info "installing requirements.txt into .venv (first run or requirements changed)"
    "$VENV_PY" -m pip install --disable-pip-version-check -qq -r requirements.txt
    printf '%s\n' "$want" >"$stamp"
    exec 9>&-
    info "done"
}
